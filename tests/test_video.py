"""translate.video: probe, FrameReader, FrameWriter over ffmpeg pipes (tiny lavfi videos)."""
from __future__ import annotations

import logging
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from translate.errors import UserError
from translate.video.ffmpeg import ffmpeg_error_line, ffmpeg_major_version, find_ffmpeg
from translate.video.frames import StreamInfo
from translate.video.probe import (
    info_from_ffmpeg_stderr,
    info_from_ffprobe_json,
    parse_rate,
    parse_time,
    probe,
    resolve_colors,
    snap_rate,
)
from translate.video.reader import FrameReader, decode_audio_pcm, read_all_frames
from translate.video.writer import FrameWriter

FF = find_ffmpeg()


def ff(*args: str) -> None:
    subprocess.run([FF, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_clip(path: Path, size="64x48", rate="25", frames=20, audio=None, extra=()) -> Path:
    """testsrc2 video (+ a sine tone encoded with ``audio``) of exactly ``frames`` frames."""
    args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    args += ["-frames:v", str(frames)]
    if audio:
        args += ["-c:a", audio, "-t", str(float(frames / Fraction(rate)))]
    args += ["-c:v", "libx264", "-pix_fmt", "yuv420p", *extra, str(path)]
    ff(*args)
    return path


INDEXED = "format=gbrp,geq=r='mod(N*12,240)':g='128':b='64'"  # frame N is flat, red = 12 * N


def frame_numbers(frames: np.ndarray) -> list[int]:
    """The N of INDEXED frames, from their red level."""
    return [int(round(f[..., 0].mean() / 12)) for f in frames]


def make_vfr(path: Path) -> Path:
    """10 frames at 12.5 fps then 10 at 25 fps (timestamps set per segment by setpts): average 50/3 fps.
    Frame N is a flat colour with red 12 * N, so order, drops and duplicates are visible."""
    graph = ("testsrc2=size=64x48:rate=25,trim=end_frame=10,setpts=2*N/25/TB[a];"
             "testsrc2=size=64x48:rate=25,trim=end_frame=10,setpts=N/25/TB[b];"
             f"[a][b]concat=n=2:v=1:a=0,{INDEXED}[v]")
    ff("-filter_complex", graph, "-map", "[v]", "-fps_mode", "passthrough", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path))
    return path


@pytest.fixture(params=["system", "imageio-ffmpeg"])
def locator(request):
    """Run a test with the system ffmpeg and ffprobe, and with them hidden: imageio-ffmpeg's binary alone, no
    ffprobe, so the probe reads `ffmpeg -i` and scans packets (a machine without a system ffmpeg runs only that)."""
    if request.param == "imageio-ffmpeg":
        request.getfixturevalue("imageio_ffmpeg_only")
    elif shutil.which("ffmpeg") is None:
        pytest.skip("no system ffmpeg on PATH: the imageio-ffmpeg variant is this machine's only path")
    return request.param


def copy_through(src: Path, dst: Path, codec="h264", batch_size=4) -> dict:
    reader = FrameReader(src, batch_size=batch_size)
    writer = FrameWriter(dst, codec=codec, audio_from=src)
    writer.open(reader.info, {"comment": "test"})
    for batch in reader:
        writer.write(batch)
    return writer.close()


def pts_of(path: Path) -> list[float]:
    """Decoded frames' timestamps (showinfo, passthrough)."""
    out = subprocess.run([FF, "-hide_banner", "-i", str(path), "-fps_mode", "passthrough", "-vf", "showinfo=checksum=0",
                          "-f", "null", "-"], capture_output=True, text=True).stderr
    import re

    return [float(x) for x in re.findall(r"pts_time:\s*([-\d.]+)", out)]


# ------------------------------------------------------------------------------------------- probe


@pytest.mark.parametrize("rate", ["25", "30000/1001"])
def test_probe_fps_is_exact_rational(tmp_path, locator, rate):
    clip = make_clip(tmp_path / "c.mp4", rate=rate, frames=12)
    info = probe(clip)
    assert info.fps == Fraction(rate)
    assert isinstance(info.fps, Fraction)
    assert info.frame_count == 12
    assert (info.width, info.height) == (64, 48)
    assert abs(info.duration - 12 / float(Fraction(rate))) < 1e-3
    assert not info.vfr and not info.has_audio


def test_probe_mkv_ms_timebase_keeps_ntsc_rate(tmp_path, locator):
    clip = make_clip(tmp_path / "c.mkv", rate="30000/1001", frames=30)
    info = probe(clip)
    assert info.fps == Fraction(30000, 1001) and info.frame_count == 30


def test_ffprobe_json_without_frame_count_gives_none():
    data = {"streams": [{"codec_type": "video", "codec_name": "vp9", "width": 1920, "height": 1080, "r_frame_rate": "30000/1001",
                         "avg_frame_rate": "30000/1001", "pix_fmt": "yuv420p10le", "color_space": "bt2020nc",
                         "color_transfer": "smpte2084", "color_primaries": "bt2020",
                         "side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}]},
                        {"codec_type": "audio", "codec_name": "opus", "sample_rate": "48000", "channels": 2}],
            "format": {"format_name": "matroska,webm", "duration": "10.010000", "tags": {"title": "x"}}}
    info = info_from_ffprobe_json(data, "x.webm")
    assert info.frame_count is None  # no KeyError (Real-ESRGAN's nb_frames bug)
    assert info.fps == Fraction(30000, 1001)
    assert (info.width, info.height, info.rotation) == (1080, 1920, 90)
    assert info.bit_depth == 10 and info.is_hdr and info.has_audio and info.audio_codec == "opus"
    assert info.duration == pytest.approx(10.01)


def test_ffmpeg_stderr_parser_reads_colour_rotation_tags():
    text = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'r.mp4':
  Metadata:
    major_brand     : isom
    translate_model : srgan
  Duration: 00:00:02.50, start: 0.000000, bitrate: 29 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709/unknown/unknown, progressive), 640x480 [SAR 1:1 DAR 4:3], 18 kb/s, 29.97 fps, 29.97 tbr, 30k tbn (default)
    Metadata:
      handler_name    : VideoHandler
    Side data:
      Display Matrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 70 kb/s (default)
"""
    info = info_from_ffmpeg_stderr(text, "r.mp4")
    assert info.fps == Fraction(30000, 1001)
    assert (info.width, info.height, info.rotation) == (480, 640, 90)
    assert (info.color_range, info.color_space, info.color_primaries) == ("tv", "bt709", None)
    assert info.has_audio and info.audio_codec == "aac" and info.audio_channels == 2
    assert info.tags["translate_model"] == "srgan" and info.duration == 2.5


def test_rates_and_times():
    assert snap_rate(29.97) == Fraction(30000, 1001)
    assert snap_rate(23.98) == Fraction(24000, 1001)
    assert snap_rate(25.0) == 25
    assert parse_rate("30k") == 30000 and parse_rate("0/0") is None
    assert parse_time("1:30.5") == 90.5 and parse_time("12") == 12.0
    with pytest.raises(UserError):
        parse_time("soon")


# ------------------------------------------------------------------------------------------- bad inputs


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    zero = tmp_path / "zero.mp4"
    zero.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 20)
    full = make_clip(tmp_path / "full.mp4", frames=25)
    cut = tmp_path / "cut.mp4"  # moov atom at the end: gone
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    fast = make_clip(tmp_path / "fast.mp4", frames=25, extra=["-movflags", "+faststart"])
    cut_fast = tmp_path / "cut_fast.mp4"  # header intact, frames missing
    cut_fast.write_bytes(fast.read_bytes()[: fast.stat().st_size * 2 // 3])
    return {"zero": zero, "text": text, "truncated": cut, "truncated-faststart": cut_fast}


def test_bad_inputs_raise_one_line_user_error(tmp_path, locator):
    for kind, path in _bad_inputs(tmp_path).items():
        with pytest.raises(UserError) as e:
            reader = FrameReader(path)
            for _ in reader:
                pass
        msg = str(e.value)
        assert "\n" not in msg and path.name in msg, (kind, msg)
    with pytest.raises(UserError, match="no such file"):
        probe(tmp_path / "missing.mp4")


def test_ffmpeg_error_line_skips_generic_chatter():
    lines = ["[in#0 @ 0x1] Error opening input: Invalid data found when processing input",
             "Error opening input file x.mp4.", "Error opening input files: Invalid data found when processing input"]
    assert ffmpeg_error_line(lines) == "Invalid data found when processing input"


# ------------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("rate", ["25", "30000/1001"])
def test_roundtrip_keeps_count_rate_duration_and_audio(tmp_path, locator, rate):
    src = make_clip(tmp_path / "src.mp4", rate=rate, frames=30, audio="aac")
    out = tmp_path / "out.mp4"
    summary = copy_through(src, out)
    assert summary["audio"] == "copied (aac)"
    a, b = probe(src, scan=True), probe(out, scan=True)
    assert b.frame_count == a.frame_count == 30
    assert b.fps == a.fps == Fraction(rate)
    assert abs(b.duration - a.duration) <= 1 / float(a.fps)
    assert b.has_audio and b.audio_codec == "aac"
    pcm_a, pcm_b = decode_audio_pcm(src), decode_audio_pcm(out)
    assert len(pcm_a) > 0 and np.array_equal(pcm_a, pcm_b)  # copied, not re-encoded
    assert not list(tmp_path.glob(".*partial*"))


def test_audio_reencoded_to_aac_only_when_container_needs_it(tmp_path):
    src = make_clip(tmp_path / "pcm.mkv", frames=10, audio="pcm_s16le")
    copy_through(src, tmp_path / "keep.mkv")
    assert probe(tmp_path / "keep.mkv").audio_codec == "pcm_s16le"
    summary = copy_through(src, tmp_path / "out.mp4")  # mp4 cannot hold PCM
    assert summary["audio"] == "re-encoded pcm_s16le to aac"
    assert probe(tmp_path / "out.mp4").audio_codec == "aac"


def test_no_audio_source_is_fine(tmp_path):
    src = make_clip(tmp_path / "silent.mp4", frames=5)
    summary = copy_through(src, tmp_path / "out.mp4")
    assert summary["audio"] == "none" and not probe(tmp_path / "out.mp4").has_audio


def test_vfr_source_keeps_every_frame_and_warns_with_drift(tmp_path, locator, caplog):
    src = make_vfr(tmp_path / "vfr.mp4")
    info = probe(src)
    assert info.vfr and info.frame_count == 20 and info.fps == Fraction(50, 3)
    with caplog.at_level(logging.WARNING, logger="translate.video"):
        reader = FrameReader(src, batch_size=6)
    assert any("variable frame rate" in r.message and "0.200s" in r.message for r in caplog.records)
    out = tmp_path / "out.mkv"
    writer = FrameWriter(out, codec="ffv1")
    writer.open(reader.info)
    frames = []
    for batch in reader:
        frames.append(batch.frames.copy())
        writer.write(batch)
    writer.close()
    frames = np.concatenate(frames)
    assert len(frames) == 20  # ffmpeg's default for a raw pipe would duplicate frames up to 30 here
    assert frame_numbers(frames) == list(range(20))  # none dropped or duplicated, in order
    back = read_all_frames(out)
    assert np.array_equal(back, frames)  # lossless and in order
    o = probe(out)
    assert o.fps == Fraction(50, 3) and o.frame_count == 20 and not o.vfr
    assert abs(o.duration - info.duration) <= 1 / float(info.fps)
    assert len(pts_of(src)) == 20


@pytest.mark.parametrize("codec,size", [("h264", (322, 242)), ("ffv1", (321, 241)), ("h264-lossless", (321, 241))])
def test_odd_size(tmp_path, codec, size):
    src = make_clip(tmp_path / "odd.mkv", size="320x240", frames=4, extra=["-vf", "scale=321:241", "-pix_fmt", "yuv444p"])
    out = tmp_path / ("out.mkv" if codec == "ffv1" else "out.mp4")
    summary = copy_through(src, out, codec=codec)
    info = probe(out)
    assert (info.width, info.height) == size and info.frame_count == 4
    assert (summary["width"], summary["height"]) == size
    if codec == "h264":  # padding repeats the edge: the extra column equals the last one
        frame = read_all_frames(out)[0].astype(int)
        assert np.abs(frame[:, 321] - frame[:, 320]).mean() < 4
    if codec == "ffv1":
        assert np.array_equal(read_all_frames(out), read_all_frames(src))


def test_one_frame_video(tmp_path, locator):
    src = make_clip(tmp_path / "one.mp4", frames=1)
    assert probe(src).frame_count == 1
    copy_through(src, tmp_path / "out.mp4")
    assert probe(tmp_path / "out.mp4", scan=True).frame_count == 1


def test_rotation_applied_once(tmp_path, locator):
    plain = make_clip(tmp_path / "plain.mp4", frames=3)
    rotated = tmp_path / "rot.mp4"
    if ffmpeg_major_version(FF) >= 6:
        ff("-display_rotation", "90", "-i", str(plain), "-c", "copy", str(rotated))
    else:  # ffmpeg 5 (Debian 12's) has no -display_rotation; its stream tag does the same
        ff("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated))
    info = probe(rotated)
    assert (info.width, info.height) == (48, 64) and info.rotation in (90, 270)
    batch = next(iter(FrameReader(rotated)))
    assert batch.frames.shape[1:] == (64, 48, 3)
    copy_through(rotated, tmp_path / "out.mp4")
    out = probe(tmp_path / "out.mp4")
    assert (out.width, out.height, out.rotation) == (48, 64, 0)  # not rotated a second time by players


def test_start_end(tmp_path):
    src = make_clip(tmp_path / "c.mp4", frames=30, audio="aac")
    reader = FrameReader(src, start=0.4, end="0:00.8")
    assert sum(len(b) for b in reader) == 10


def test_colour_matrix_and_range_carried(tmp_path):
    tagged = make_clip(tmp_path / "bt709.mp4", frames=3,
                       extra=["-vf", "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv"])
    copy_through(tagged, tmp_path / "a.mp4")
    a = probe(tmp_path / "a.mp4")
    assert (a.color_space, a.color_primaries, a.color_transfer, a.color_range) == ("bt709", "bt709", "bt709", "tv")
    untagged = make_clip(tmp_path / "sd.mp4", frames=3)
    copy_through(untagged, tmp_path / "b.mp4")
    assert probe(tmp_path / "b.mp4").color_space == "smpte170m"  # what a player assumed for the SD source


def test_colours_survive_encode_decode(tmp_path):
    """RGB -> yuv with the tagged matrix -> RGB: a saturated colour comes back (a matrix mix-up shifts it by ~10)."""
    frames = np.zeros((2, 48, 64, 3), np.uint8)
    frames[:, :, :32] = (30, 200, 60)
    frames[:, :, 32:] = (220, 40, 180)
    for space in ("bt709", "smpte170m"):
        info = resolve_colors(StreamInfo(64, 48, Fraction(25), color_space=space))
        out = tmp_path / f"{space}.mp4"
        writer = FrameWriter(out, crf=0)
        writer.open(info)
        writer.write(frames)
        writer.close()
        back = read_all_frames(out).astype(int)
        assert np.abs(back[:, 10:38, 4:28] - frames[:, 10:38, 4:28]).max() <= 3
        assert np.abs(back[:, 10:38, 36:60] - frames[:, 10:38, 36:60]).max() <= 3


def test_ten_bit_source_warns(tmp_path, caplog):
    src = tmp_path / "hdr.mkv"
    ff("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-frames:v", "2", "-c:v", "ffv1", "-pix_fmt", "yuv420p10le", str(src))
    with caplog.at_level(logging.WARNING, logger="translate.video"):
        reader = FrameReader(src)
    assert any("10-bit" in r.message for r in caplog.records)
    assert sum(len(b) for b in reader) == 2


def test_writer_failure_leaves_nothing(tmp_path):
    out = tmp_path / "out.mp4"
    writer = FrameWriter(out, preset="not-a-preset")
    writer.open(StreamInfo(64, 48, Fraction(25)))
    with pytest.raises(UserError) as e:
        writer.write(np.zeros((50, 48, 64, 3), np.uint8))
        writer.close()
    assert "\n" not in str(e.value)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_writer_refuses_existing_without_overwrite_and_bad_combinations(tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"keep")
    with pytest.raises(UserError, match="--overwrite"):
        FrameWriter(out, overwrite=False).open(StreamInfo(64, 48, Fraction(25)))
    assert out.read_bytes() == b"keep"
    with pytest.raises(UserError, match="mkv"):
        FrameWriter(tmp_path / "x.mp4", codec="ffv1")
    with pytest.raises(UserError, match="unsupported"):
        FrameWriter(tmp_path / "x.gif")
