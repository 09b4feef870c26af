"""Video in and out over ffmpeg pipes: probe, a frame reader and a frame writer.

- ffmpeg and ffprobe come from PATH when present; else the ffmpeg binary of the imageio-ffmpeg wheel is used
  (it ships no ffprobe, so ``probe`` then reads ``ffmpeg -i`` and scans the packets' timestamps instead).
- The frame rate is an exact rational everywhere (25, 30000/1001). A variable-frame-rate source is decoded with
  passthrough timing, so every frame comes out once (ffmpeg's default for a raw pipe is to duplicate and drop
  frames to a constant rate), and is written at its average rate; a warning gives the largest drift.
- Rotation is applied once, by the decoder; the output carries no rotation of its own.
- Colour: the source's matrix, range, primaries and transfer are used to decode to RGB and carried to the
  output (untagged sources are read as a player would show them: BT.709 from 720 lines up, else BT.601).
- Odd sizes: H.264 in 4:2:0 needs even sides, so the writer pads one column/row by repeating the edge
  (``pad`` + ``fillborders=smear``); ``--codec ffv1`` and ``h264-lossless`` (4:4:4) keep the exact size.
- Audio is stream-copied from the source (every track); it is re-encoded to AAC only when the output container
  cannot hold the codec. A source without audio is fine.
- Outputs are written to a hidden temporary name in the target folder and renamed when complete; on any
  failure the temporary file is removed.
"""
from __future__ import annotations

import fcntl
import functools
import json
import logging
import os
import re
import shutil
import subprocess
import threading
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from translate.errors import UserError
from translate.framebatch import FrameBatch, StreamInfo

log = logging.getLogger("translate.video")

PIPE_SIZE = 1 << 20  # Linux default max for unprivileged F_SETPIPE_SZ
_F_SETPIPE_SZ = 1031

# ---------------------------------------------------------------------------------------------- locating


def find_ffmpeg() -> str:
    """``$TRANSLATE_FFMPEG``, else ffmpeg on PATH, else the binary shipped by the imageio-ffmpeg wheel."""
    env = os.environ.get("TRANSLATE_FFMPEG")
    if env:
        return env
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as e:  # noqa: BLE001 - any failure means "not available"
        raise UserError(f"ffmpeg not found ({e}); install it (apt install ffmpeg) or `pip install imageio-ffmpeg`") from None


def find_ffprobe() -> str | None:
    """ffprobe on PATH or next to the ffmpeg in use; None when there is none (probe then uses ffmpeg alone)."""
    found = shutil.which("ffprobe")
    if found:
        return found
    sibling = Path(find_ffmpeg()).with_name("ffprobe")
    return str(sibling) if sibling.is_file() and os.access(sibling, os.X_OK) else None


@functools.lru_cache(maxsize=8)
def ffmpeg_major_version(ffmpeg: str) -> int:
    """Major version of an ffmpeg binary (99 for git builds whose version string has no number)."""
    try:
        out = subprocess.run([ffmpeg, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 99
    m = re.search(r"version\s+n?(\d+)\.", out)
    return int(m.group(1)) if m else 99


def passthrough_args(ffmpeg: str) -> list[str]:
    """Output option that makes ffmpeg pass every decoded frame once, with no duplication or dropping."""
    return ["-fps_mode", "passthrough"] if ffmpeg_major_version(ffmpeg) >= 5 else ["-vsync", "passthrough"]


# ---------------------------------------------------------------------------------------------- errors

_GENERIC = re.compile(
    r"(Task finished|Terminating (thread|muxer)|Conversion failed|Nothing was written|Error opening input files?\b|"
    r"Error opening output files?|Could not open encoder before EOF|Error (closing|writing trailer)|Last message repeated|"
    r"Cannot determine format of input|Exiting with exit code|Error while filtering|Error sending frames|"
    r"Error submitting a packet|Error muxing a packet|Broken pipe|^\s*$)",
    re.IGNORECASE,
)


def ffmpeg_error_line(lines) -> str:
    """The last stderr line of ffmpeg that says what went wrong (not the generic 'task finished' chatter)."""
    lines = [re.sub(r"^(\[[^\]]*\]\s*)+", "", str(line)).strip() for line in lines]
    for line in reversed(lines):
        if line and not _GENERIC.search(line):
            return re.sub(r"^Error opening input( file)?:\s*", "", line)
    for line in reversed(lines):  # only generic lines: the last one still says something
        if line:
            m = re.search(r":\s*([^:]+)$", line)
            return m.group(1).strip() if m else line
    return "ffmpeg failed without a message"


class _StderrDrain(threading.Thread):
    """Reads a process's stderr to the end in the background (so its pipe never fills and blocks ffmpeg)."""

    def __init__(self, stream, keep: int = 200):
        super().__init__(daemon=True)
        self.stream = stream
        self.lines: deque[str] = deque(maxlen=keep)
        self.start()

    def run(self) -> None:
        try:
            for raw in iter(self.stream.readline, b""):
                self.lines.append(raw.decode("utf-8", "replace").rstrip())
        except (OSError, ValueError):
            pass

    def error_line(self) -> str:
        self.join(timeout=5)
        return ffmpeg_error_line(list(self.lines))


def _grow_pipe(fileobj, size: int) -> None:
    """Ask for a larger pipe buffer (fewer context switches per frame); best effort."""
    try:
        fcntl.fcntl(fileobj.fileno(), _F_SETPIPE_SZ, size)
    except (OSError, AttributeError, ValueError):
        pass


def _check_input_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a video file")
    if path.stat().st_size == 0:
        raise UserError(f"{path} is empty (0 bytes); it is not a video")
    return path


# ---------------------------------------------------------------------------------------------- probe

_NTSC = [Fraction(k * 1000, 1001) for k in (24, 30, 48, 60, 120, 240)]


def parse_rate(text: str | None) -> Fraction | None:
    """'30000/1001', '25', '29.97', '1k' -> Fraction; None for 0/0, N/A or junk."""
    if not text:
        return None
    text = str(text).strip()
    try:
        if text.endswith("k"):
            value = Fraction(text[:-1]) * 1000
        else:
            value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def standard_rate(value: Fraction | float) -> Fraction | None:
    """The standard rate (integer, half-integer or NTSC k*1000/1001) that a 2-decimal print stands for, if any."""
    x = float(value)
    for cand in _NTSC:
        if abs(x - float(cand)) < 0.006:
            return cand
    for cand in (Fraction(round(x)), Fraction(round(2 * x), 2)):
        if cand > 0 and abs(x - float(cand)) < 0.006:
            return cand
    return None


def snap_rate(value: Fraction | float) -> Fraction:
    """A rate printed with two decimals (ffmpeg -i says '29.97 fps') back to the exact rational it stands for."""
    return standard_rate(value) or Fraction(float(value)).limit_denominator(1001)


def parse_time(text: str | float | None) -> float | None:
    """'90', '1:30', '00:01:30.5' -> seconds."""
    if text is None or text == "":
        return None
    if isinstance(text, (int, float)):
        return float(text)
    parts = str(text).strip().split(":")
    try:
        seconds = 0.0
        for part in parts:
            seconds = seconds * 60 + float(part)
    except ValueError:
        raise UserError(f"'{text}' is not a time; use seconds (90.5) or [HH:]MM:SS[.ms]") from None
    if seconds < 0:
        raise UserError(f"'{text}' is a negative time")
    return seconds


def _bit_depth(pix_fmt: str | None) -> int:
    if not pix_fmt:
        return 8
    m = re.search(r"(\d{2})(le|be)$", pix_fmt) or re.search(r"^p0(\d{2})", pix_fmt)
    if m:
        return int(m.group(1))
    return 8


def _display_size(width: int, height: int, rotation: int) -> tuple[int, int]:
    return (height, width) if rotation % 180 == 90 else (width, height)


def _clean(value) -> str | None:
    if value in (None, "", "unknown", "unspecified", "reserved", "N/A"):
        return None
    return str(value)


def _float(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if v == v else None  # NaN -> None


def info_from_ffprobe_json(data: dict, path: str | None = None) -> StreamInfo:
    """StreamInfo from ``ffprobe -show_streams -show_format -of json`` output (no KeyError on missing fields)."""
    streams = data.get("streams") or []
    fmt = data.get("format") or {}
    video = next((s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")), None)
    if video is None:
        raise UserError(f"{path}: has no video stream")
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    rotation = 0
    for sd in video.get("side_data_list") or []:
        if "rotation" in sd:
            rotation = int(round(-float(sd["rotation"]))) % 360
    if not rotation and (video.get("tags") or {}).get("rotate"):
        rotation = int(float(video["tags"]["rotate"])) % 360
    coded_w, coded_h = int(video.get("width") or 0), int(video.get("height") or 0)
    if not coded_w or not coded_h:
        raise UserError(f"{path}: the video stream has no frame size; the file is damaged")
    width, height = _display_size(coded_w, coded_h, rotation)
    r_rate, avg_rate = parse_rate(video.get("r_frame_rate")), parse_rate(video.get("avg_frame_rate"))
    fps = avg_rate or r_rate
    if fps is None:
        raise UserError(f"{path}: the frame rate is unknown; the file is damaged")
    nb = video.get("nb_frames")
    frame_count = int(nb) if nb not in (None, "", "N/A") and str(nb).isdigit() and int(nb) > 0 else None
    duration = _float(video.get("duration")) or _float(fmt.get("duration"))
    pix_fmt = video.get("pix_fmt")
    bits = video.get("bits_per_raw_sample")
    return StreamInfo(
        width=width,
        height=height,
        fps=fps,
        frame_count=frame_count,
        duration=duration,
        has_audio=bool(audio),
        audio_codec=audio[0].get("codec_name") if audio else None,
        audio_sample_rate=int(audio[0]["sample_rate"]) if audio and str(audio[0].get("sample_rate", "")).isdigit() else None,
        audio_channels=audio[0].get("channels") if audio else None,
        video_codec=video.get("codec_name"),
        pix_fmt=pix_fmt,
        bit_depth=int(bits) if str(bits or "").isdigit() else _bit_depth(pix_fmt),
        rotation=rotation,
        color_space=_clean(video.get("color_space")),
        color_range=_clean(video.get("color_range")),
        color_primaries=_clean(video.get("color_primaries")),
        color_transfer=_clean(video.get("color_transfer")),
        vfr=bool(r_rate and avg_rate and r_rate != avg_rate),  # a hint; the packet scan decides
        start_time=_float(video.get("start_time")) or 0.0,
        container=fmt.get("format_name"),
        tags={str(k): str(v) for k, v in (fmt.get("tags") or {}).items()},
        path=path,
    )


# colour names as `ffmpeg -i` prints them: one name when matrix, primaries and transfer share an enum value
_SAME_VALUE = {
    "bt709": ("bt709", "bt709"),
    "fcc": ("bt470m", "gamma22"),
    "bt470bg": ("bt470bg", "gamma28"),
    "smpte170m": ("smpte170m", "smpte170m"),
    "smpte240m": ("smpte240m", "smpte240m"),
    "bt2020nc": ("bt2020", "bt2020-10"),
    "bt2020c": ("jedec-p22", "bt2020-12"),
}


def _split_top(text: str) -> list[str]:
    """Split on ', ' outside parentheses and brackets."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur).strip())
    return out


def info_from_ffmpeg_stderr(text: str, path: str | None = None) -> StreamInfo:
    """StreamInfo from what ``ffmpeg -i FILE`` prints (fps here is only as exact as the print; see probe)."""
    video_line = audio_line = None
    rotation = 0
    tags: dict[str, str] = {}
    lines = text.splitlines()
    in_video = False
    for i, line in enumerate(lines):
        s = line.strip()
        if re.match(r"Stream #\d+:\d+.*?: Video:", s):
            if video_line is None and "attached pic" not in s:
                video_line, in_video = s, True
            else:
                in_video = False
        elif re.match(r"Stream #\d+:\d+.*?: ", s):
            in_video = False
            if ": Audio:" in s and audio_line is None:
                audio_line = s
        elif in_video:
            m = re.search(r"rotation of (-?[\d.]+) degrees", s, re.IGNORECASE)
            if m:
                rotation = int(round(-float(m.group(1)))) % 360
            m = re.match(r"rotate\s*:\s*(-?\d+)", s)
            if m and not rotation:
                rotation = int(m.group(1)) % 360
    # container tags: the "Metadata:" block right under "Input #0"
    for i, line in enumerate(lines):
        if line.startswith("Input #"):
            j = i + 1
            if j < len(lines) and lines[j].strip() == "Metadata:":
                j += 1
                while j < len(lines) and lines[j].startswith("    ") and ":" in lines[j]:
                    key, _, value = lines[j].strip().partition(":")
                    tags[key.strip()] = value.strip()
                    j += 1
            break
    if video_line is None:
        raise UserError(f"{path}: has no video stream")
    parts = _split_top(video_line.split(": Video:", 1)[1])
    codec = parts[0].split()[0] if parts else None
    pix_fmt = color_range = color_space = primaries = transfer = None
    width = height = 0
    fps = tbr = None
    for part in parts[1:]:
        m = re.match(r"^(\d+)x(\d+)\b", part)
        if m and not width:
            width, height = int(m.group(1)), int(m.group(2))
            continue
        m = re.match(r"^([\d.]+k?) (fps|tbr)\b", part)
        if m:
            if m.group(2) == "fps":
                fps = parse_rate(m.group(1))
            else:
                tbr = parse_rate(m.group(1))
            continue
        m = re.match(r"^([a-z0-9_]+)(?:\((.*)\))?$", part)
        if m and pix_fmt is None and not re.match(r"^\d", part):
            pix_fmt = m.group(1)
            for item in _split_top(m.group(2) or ""):
                if item in ("tv", "pc"):
                    color_range = item
                elif "/" in item:
                    color_space, primaries, transfer = (_clean(x) for x in (item.split("/") + [None, None])[:3])
                elif item in _SAME_VALUE:
                    color_space = item
                    primaries, transfer = _SAME_VALUE[item]
    if not width or not height:
        raise UserError(f"{path}: the video stream has no frame size; the file is damaged")
    rate = fps or tbr
    if rate is None:
        raise UserError(f"{path}: the frame rate is unknown; the file is damaged")
    m = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text)
    duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else None
    m = re.search(r"Duration:.*?start: (-?[\d.]+)", text)
    start = float(m.group(1)) if m else 0.0
    m = re.search(r"Input #\d+, ([^ ]+), from", text)
    container = m.group(1).rstrip(",") if m else None
    audio_codec = sample_rate = channels = None
    if audio_line:
        aparts = _split_top(audio_line.split(": Audio:", 1)[1])
        audio_codec = aparts[0].split()[0] if aparts else None
        for part in aparts[1:]:
            m = re.match(r"^(\d+) Hz", part)
            if m:
                sample_rate = int(m.group(1))
            channels = channels or {"mono": 1, "stereo": 2, "5.1": 6, "5.1(side)": 6, "7.1": 8}.get(part)
    w, h = _display_size(width, height, rotation)
    return StreamInfo(
        width=w,
        height=h,
        fps=snap_rate(rate),
        frame_count=None,
        duration=duration,
        has_audio=audio_line is not None,
        audio_codec=audio_codec,
        audio_sample_rate=sample_rate,
        audio_channels=channels,
        video_codec=codec,
        pix_fmt=pix_fmt,
        bit_depth=_bit_depth(pix_fmt),
        rotation=rotation,
        color_space=_clean(color_space),
        color_range=color_range,
        color_primaries=_clean(primaries),
        color_transfer=_clean(transfer),
        start_time=start,
        container=container,
        tags=tags,
        path=path,
    )


@dataclass
class PacketScan:
    """Timestamps of every video packet (from ``ffmpeg -c copy -f framecrc``, which decodes nothing)."""

    count: int
    time_base: Fraction
    pts: list[int]  # presentation order
    end: int | None  # max(pts + duration)
    damaged: str | None = None  # ffmpeg's complaint when the file is truncated/corrupt


def scan_packets(path: str | Path, ffmpeg: str | None = None) -> PacketScan:
    ffmpeg = ffmpeg or find_ffmpeg()
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"]
    proc = subprocess.run(cmd, capture_output=True)
    err = proc.stderr.decode("utf-8", "replace").splitlines()
    if proc.returncode != 0:
        raise UserError(f"{path}: not a readable video ({ffmpeg_error_line(err)})")
    time_base = Fraction(1, 1)
    pts: list[int] = []
    end = None
    ok = True
    for line in proc.stdout.decode("ascii", "replace").splitlines():
        if line.startswith("#tb 0:"):
            time_base = Fraction(line.split(":", 1)[1].strip())
            continue
        if line.startswith("#") or not line.strip():
            continue
        cols = [c.strip() for c in line.split(",")]
        if len(cols) < 5:
            continue
        try:
            p, d = int(cols[2]), int(cols[3])
        except ValueError:  # NOPTS
            ok = False
            pts.append(0)
            continue
        pts.append(p)
        end = p + d if end is None else max(end, p + d)
    damaged = next((ffmpeg_error_line([l]) for l in err if "partial file" in l or "corrupt" in l.lower() or "invalid" in l.lower()), None)
    return PacketScan(count=len(pts), time_base=time_base, pts=sorted(pts) if ok else [], end=end if ok else None, damaged=damaged)


def _apply_scan(info: StreamInfo, scan: PacketScan, nominal: Fraction | None) -> StreamInfo:
    """Exact frame count, average rate and drift from the packets' timestamps."""
    if scan.damaged:
        raise UserError(f"{info.path}: the file is truncated or damaged ({scan.damaged}); re-download or re-mux it")
    if scan.count == 0:
        raise UserError(f"{info.path}: the video stream holds no frames")
    info = info.replace(frame_count=scan.count)
    if not scan.pts:
        return info
    n = scan.count
    first, last = scan.pts[0], scan.pts[-1]
    if scan.end is not None and scan.end > last:  # packet durations known: the span includes the last frame
        intervals, span = n, (scan.end - first) * scan.time_base
    else:
        intervals, span = n - 1, (last - first) * scan.time_base
    if intervals <= 0 or span <= 0:
        return info
    average = Fraction(intervals) / span
    fps = average
    # the nominal rate is exact when it explains the measured span to within two ticks of the time base
    if nominal and abs(intervals / nominal - span) <= 2 * scan.time_base:
        fps = nominal
    elif average.denominator > 1_000_000:
        fps = average.limit_denominator(1_000_000)
    times = (np.asarray(scan.pts, dtype=np.int64) - first) * float(scan.time_base)
    deviation = np.abs(times - np.arange(n) / float(fps))
    at = int(deviation.argmax())
    drift = float(deviation[at])
    vfr = drift > 0.5 / float(fps)
    return info.replace(fps=fps, vfr=vfr, max_drift=drift if vfr else 0.0, max_drift_frame=at if vfr else None,
                        duration=float(n / fps))


def probe_audio(path: str | Path) -> str | None:
    """The codec of the first audio stream of any media file (a video, or audio alone: wav, mp3, m4a), or None."""
    path = _check_input_file(path)
    proc = subprocess.run([find_ffmpeg(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True)
    text = proc.stderr.decode("utf-8", "replace")
    if "Input #" not in text:
        raise UserError(f"{path}: not a readable media file ({ffmpeg_error_line(text.splitlines())})")
    m = re.search(r"Stream #\S+.*?: Audio: (\w+)", text)
    return m.group(1) if m else None


def probe(path: str | Path, scan: bool | None = None) -> StreamInfo:
    """Describe the first video stream of ``path`` (and whether it has audio).

    ``scan``: read every packet's timestamp (no decoding) for an exact frame count, the average rate of a
    variable-frame-rate source and its drift. None (default) scans when ffprobe is missing, when the container
    states no frame count, or when its nominal and average rates differ.
    Raises UserError with one line for a missing, empty, truncated or non-video file.
    """
    path = _check_input_file(path)
    ffmpeg = find_ffmpeg()
    ffprobe = find_ffprobe()
    nominal = None
    if ffprobe:
        cmd = [ffprobe, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)]
        proc = subprocess.run(cmd, capture_output=True)
        if proc.returncode != 0:
            raise UserError(f"{path}: not a readable video ({ffmpeg_error_line(proc.stderr.decode('utf-8', 'replace').splitlines())})")
        try:
            data = json.loads(proc.stdout.decode("utf-8", "replace") or "{}")
        except json.JSONDecodeError:
            raise UserError(f"{path}: ffprobe gave unreadable output; the file is damaged") from None
        info = info_from_ffprobe_json(data, str(path))
        video = next((s for s in data.get("streams", []) if s.get("codec_type") == "video"), {})
        nominal = parse_rate(video.get("r_frame_rate"))
        if nominal and nominal > 1000:
            nominal = None
        need_scan = info.frame_count is None or info.vfr
    else:
        proc = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True)
        text = proc.stderr.decode("utf-8", "replace")
        if "Input #" not in text:
            raise UserError(f"{path}: not a readable video ({ffmpeg_error_line(text.splitlines())})")
        info = info_from_ffmpeg_stderr(text, str(path))
        nominal = standard_rate(info.fps)  # a print like '16.67 fps' is not exact: the timestamps decide
        need_scan = True
    if scan if scan is not None else need_scan:
        info = _apply_scan(info.replace(vfr=False), scan_packets(path, ffmpeg), nominal)
    return info


# ---------------------------------------------------------------------------------------------- colour

_MATRIX_FOR_SWS = {"bt709": "bt709", "smpte170m": "smpte170m", "bt470bg": "bt470", "fcc": "fcc",
                   "smpte240m": "smpte240m", "bt2020nc": "bt2020", "bt2020c": "bt2020"}
_DEFAULT_PRIMARIES = {"bt709": "bt709", "smpte170m": "smpte170m", "bt470bg": "bt470bg", "fcc": "bt470m",
                      "smpte240m": "smpte240m", "bt2020nc": "bt2020", "bt2020c": "bt2020"}
_DEFAULT_TRANSFER = {"bt709": "bt709", "smpte170m": "smpte170m", "bt470bg": "gamma28", "fcc": "gamma22",
                     "smpte240m": "smpte240m", "bt2020nc": "bt709", "bt2020c": "bt709"}


def resolve_colors(info: StreamInfo) -> StreamInfo:
    """Fill untagged colour properties the way a player would show the source (BT.709 from 720 lines up)."""
    space = info.color_space if info.color_space in _MATRIX_FOR_SWS else None
    if space is None:
        space = "bt709" if min(info.width, info.height) >= 720 or max(info.width, info.height) >= 1280 else "smpte170m"
    rng = info.color_range if info.color_range in ("tv", "pc") else ("pc" if (info.pix_fmt or "").startswith("yuvj") else "tv")
    if info.pix_fmt and (info.pix_fmt.startswith(("rgb", "bgr", "gbr", "argb", "abgr")) or info.pix_fmt in ("pal8", "gray")):
        rng = info.color_range or "pc"
    return info.replace(
        color_space=space,
        color_range=rng,
        color_primaries=info.color_primaries or _DEFAULT_PRIMARIES[space],
        color_transfer=info.color_transfer or _DEFAULT_TRANSFER[space],
    )


def _is_rgb_source(info: StreamInfo) -> bool:
    return bool(info.pix_fmt) and info.pix_fmt.startswith(("rgb", "bgr", "gbr", "argb", "abgr", "0rgb", "pal8"))


# ---------------------------------------------------------------------------------------------- reader


class FrameReader:
    """Batches of uint8 RGB frames (N, H, W, 3) decoded by ffmpeg into a raw pipe.

    Every decoded frame comes out exactly once (passthrough timing), in order, rotated as displayed. ``start``
    and ``end`` (seconds or [HH:]MM:SS) cut the stream. ``info`` is the probed StreamInfo with colours resolved.
    A truncated or damaged stream raises UserError instead of quietly giving fewer frames.
    """

    def __init__(self, path: str | Path, batch_size: int = 8, start: float | str | None = None,
                 end: float | str | None = None, info: StreamInfo | None = None):
        self.path = Path(path)
        self.batch_size = max(1, int(batch_size))
        self.start, self.end = parse_time(start), parse_time(end)
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise UserError(f"--end ({self.end:g}s) must come after --start ({self.start:g}s)")
        probed = info or probe(self.path)
        self.source_info = probed
        self.info = resolve_colors(probed)
        if self.start is not None or self.end is not None:
            span_start = self.start or 0.0
            span_end = self.end if self.end is not None else (probed.duration or span_start)
            if probed.duration is not None and span_start >= probed.duration:
                raise UserError(f"--start {span_start:g}s is past the end of {self.path} ({probed.duration:.2f}s)")
            span_end = min(span_end, probed.duration) if probed.duration else span_end
            estimate = max(1, round((span_end - span_start) * probed.fps))
            self.info = self.info.replace(frame_count=None, duration=span_end - span_start, vfr=probed.vfr)
            self.expected_estimate = estimate
        else:
            self.expected_estimate = probed.frame_count
        self.warnings: list[str] = []
        self.frames_read = 0
        self.proc: subprocess.Popen | None = None
        self._drain: _StderrDrain | None = None
        self._closed = False
        self._note_source()

    # -- warnings a user should see before a long run
    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning(message)

    def _note_source(self) -> None:
        info = self.source_info
        if info.vfr:
            frame = f" at frame {info.max_drift_frame}" if info.max_drift_frame is not None else ""
            self._warn(f"{self.path.name}: variable frame rate; all {info.frame_count or ''} frames are kept and written at "
                       f"the average rate {format_rate(info.fps)} fps; timestamps drift from it by up to "
                       f"{info.max_drift:.3f}s{frame}")
        if info.bit_depth > 8 or info.is_hdr:
            kind = "HDR " if info.is_hdr else ""
            self._warn(f"{self.path.name}: {info.bit_depth}-bit {kind}source ({info.pix_fmt}, {info.color_transfer or 'sdr'}); "
                       f"frames are processed as 8-bit RGB (possible banding; HDR is not tone-mapped, its tags are kept)")

    def command(self) -> list[str]:
        ffmpeg = find_ffmpeg()
        cmd = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error"]
        if self.start is not None:
            cmd += ["-ss", f"{self.start:.6f}"]
        if self.end is not None:
            cmd += ["-t", f"{self.end - (self.start or 0.0):.6f}"]
        cmd += ["-i", str(self.path), "-map", "0:v:0", "-an", "-sn", "-dn"]
        cmd += passthrough_args(ffmpeg)
        cmd += ["-vf", decode_filter(self.source_info, self.info), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
        return cmd

    def _open(self) -> None:
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, bufsize=0)
        _grow_pipe(self.proc.stdout, PIPE_SIZE)
        self._drain = _StderrDrain(self.proc.stderr)

    def __iter__(self) -> Iterator[FrameBatch]:
        if self.proc is not None:
            raise RuntimeError("a FrameReader can be iterated once")
        self._open()
        h, w = self.info.height, self.info.width
        frame_bytes = h * w * 3
        stdout = self.proc.stdout
        index = 0
        try:
            while True:
                buf = np.empty((self.batch_size, h, w, 3), dtype=np.uint8)
                got = _read_into(stdout, memoryview(buf).cast("B"))
                if self._closed:
                    return
                n, rest = divmod(got, frame_bytes)
                if rest:
                    self._finish(partial=True)
                if n:
                    frames = buf if n == self.batch_size else buf[:n]
                    yield FrameBatch(frames, list(range(index, index + n)), [{} for _ in range(n)])
                    index += n
                    self.frames_read = index
                if n < self.batch_size:
                    break
            self._finish()
        finally:
            self.close()

    def _finish(self, partial: bool = False) -> None:
        rc = self.proc.wait()
        err = self._drain.error_line() if self._drain else ""
        had_errors = bool(self._drain and any(line.strip() for line in self._drain.lines))
        if rc != 0 or partial:
            raise UserError(f"{self.path}: decoding failed after {self.frames_read} frames ({err})")
        expected = self.source_info.frame_count if (self.start is None and self.end is None) else None
        if self.frames_read == 0:
            raise UserError(f"{self.path}: no frame could be decoded ({err if had_errors else 'empty video stream'})")
        if expected is not None and self.frames_read < expected:
            if had_errors:
                raise UserError(f"{self.path} is truncated or damaged: decoded {self.frames_read} of {expected} frames ({err})")
            self._warn(f"{self.path.name}: the container lists {expected} frames but {self.frames_read} were decoded")
        elif expected is not None and self.frames_read > expected:
            self._warn(f"{self.path.name}: the container lists {expected} frames but {self.frames_read} were decoded")

    def close(self) -> None:
        """Stop decoding (safe to call at any time, from any thread)."""
        self._closed = True
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if proc is not None and proc.stdout:
            try:
                proc.stdout.close()
            except OSError:
                pass


def _read_into(f, view: memoryview) -> int:
    """Fill ``view`` from a raw pipe; returns the bytes read (fewer only at end of stream)."""
    got, n = 0, len(view)
    while got < n:
        try:
            k = f.readinto(view[got:])
        except (ValueError, OSError):  # closed from another thread
            break
        if not k:
            break
        got += k
    return got


def decode_filter(source: StreamInfo, resolved: StreamInfo) -> str:
    """The -vf that converts decoded frames to RGB with the source's own matrix and range."""
    if _is_rgb_source(source):
        return "format=rgb24"
    return (f"scale=in_color_matrix={_MATRIX_FOR_SWS[resolved.color_space]}:in_range={resolved.color_range}"
            f":flags=bicubic+accurate_rnd+full_chroma_int,format=rgb24")


def format_rate(fps: Fraction) -> str:
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


# ---------------------------------------------------------------------------------------------- writer

CODECS = ("h264", "h264-lossless", "ffv1")
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
_MP4_AUDIO = {"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"}
AUDIO_COPYABLE = {
    "mp4": _MP4_AUDIO,
    "mov": _MP4_AUDIO | {"pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be", "pcm_s32le", "pcm_f32le", "pcm_u8"},
    "matroska": None,  # anything
}


def audio_plan(container: str, codec: str | None) -> str:
    """'copy' when ``container`` can hold audio ``codec`` as it is, else 'aac'."""
    allowed = AUDIO_COPYABLE.get(container)
    return "copy" if codec and (allowed is None or codec in allowed) else "aac"


def output_container(path: str | Path, codec: str = "h264") -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in CONTAINERS:
        raise UserError(f"{path}: unsupported output type '{suffix or '(none)'}'; use .mp4, .mov or .mkv")
    if codec not in CODECS:
        raise UserError(f"unknown codec '{codec}'; choose one of {', '.join(CODECS)}")
    container = CONTAINERS[suffix]
    if codec == "ffv1" and container != "matroska":
        raise UserError(f"{path}: ffv1 needs a .mkv output (or use --codec h264-lossless for {suffix})")
    return container


def temporary_path(path: Path) -> Path:
    """Hidden sibling of ``path`` with the same suffix, unique to this process."""
    return path.with_name(f".{path.stem}.partial-{os.getpid()}-{threading.get_ident() % 100000}{path.suffix}")


class FrameWriter:
    """Encodes uint8 RGB frames from a pipe into a video file, with the source's audio and colour.

    ``open(info, tags)`` starts ffmpeg for frames of ``info``'s size and rate; ``write(frames)`` sends an
    (N, H, W, 3) array; ``close()`` finishes, renames the temporary file to ``path`` and returns a summary;
    ``abort()`` kills ffmpeg and removes the temporary file.
    """

    def __init__(self, path: str | Path, codec: str = "h264", crf: int = 18, preset: str = "medium",
                 audio_from: str | Path | None = None, audio_start: float | None = None,
                 audio_end: float | None = None, overwrite: bool = True):
        self.path = Path(path)
        self.container = output_container(self.path, codec)
        self.codec, self.crf, self.preset = codec, int(crf), str(preset)
        self.audio_from = Path(audio_from) if audio_from else None
        self.audio_start, self.audio_end = parse_time(audio_start), parse_time(audio_end)
        self.overwrite = overwrite
        self.tmp = temporary_path(self.path)
        self.proc: subprocess.Popen | None = None
        self._drain: _StderrDrain | None = None
        self.info: StreamInfo | None = None
        self.frames_written = 0
        self.audio = "none"
        self.padded: tuple[int, int] | None = None

    # -- command
    def command(self, info: StreamInfo, tags: dict[str, str]) -> list[str]:
        ffmpeg = find_ffmpeg()
        cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{info.width}x{info.height}",
               "-framerate", format_rate(info.fps), "-i", "pipe:0"]
        audio_codec = None
        if self.audio_from is not None:
            same = info.path is not None and Path(info.path) == self.audio_from
            audio_codec = info.audio_codec if same and info.has_audio else (None if same else probe_audio(self.audio_from))
            if audio_codec is not None:
                if self.audio_start is not None:
                    cmd += ["-ss", f"{self.audio_start:.6f}"]
                if self.audio_end is not None:
                    cmd += ["-t", f"{self.audio_end - (self.audio_start or 0.0):.6f}"]
                cmd += ["-i", str(self.audio_from)]
        cmd += ["-map", "0:v:0"]
        if audio_codec is not None:
            plan = audio_plan(self.container, audio_codec)
            cmd += ["-map", "1:a?"]
            cmd += ["-c:a", "copy"] if plan == "copy" else ["-c:a", "aac", "-b:a", "192k"]
            self.audio = f"copied ({audio_codec})" if plan == "copy" else f"re-encoded {audio_codec} to aac"
        cmd += ["-vf", self.encode_filter(info)]
        if self.codec == "h264":
            cmd += ["-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf)]
        elif self.codec == "h264-lossless":
            cmd += ["-c:v", "libx264", "-preset", self.preset, "-qp", "0"]
        else:
            cmd += ["-c:v", "ffv1", "-level", "3", "-g", "1", "-slicecrc", "1"]
        for key, value in tags.items():
            cmd += ["-metadata", f"{key}={value}"]
        if self.container in ("mp4", "mov"):
            cmd += ["-movflags", "+faststart+use_metadata_tags"]
        cmd += ["-f", self.container, str(self.tmp)]
        return cmd

    def encode_filter(self, info: StreamInfo) -> str:
        c = resolve_colors(info)
        steps = []
        if self.codec == "ffv1":
            return f"format=gbrp,setparams=color_primaries={c.color_primaries}:color_trc={c.color_transfer}:range=pc"
        pix = "yuv444p" if self.codec == "h264-lossless" else "yuv420p"
        if pix == "yuv420p" and (info.width % 2 or info.height % 2):
            w2, h2 = info.width + info.width % 2, info.height + info.height % 2
            self.padded = (w2, h2)
            steps.append(f"pad={w2}:{h2}:0:0,fillborders=right={w2 - info.width}:bottom={h2 - info.height}:mode=smear")
        steps.append(f"scale=out_color_matrix={_MATRIX_FOR_SWS[c.color_space]}:out_range={c.color_range}"
                     f":flags=bicubic+accurate_rnd+full_chroma_int")
        steps.append(f"format={pix}")
        steps.append(f"setparams=colorspace={c.color_space}:color_primaries={c.color_primaries}"
                     f":color_trc={c.color_transfer}:range={c.color_range}")
        return ",".join(steps)

    # -- lifecycle
    def open(self, info: StreamInfo, tags: dict[str, str] | None = None) -> None:
        if self.path.exists() and not self.overwrite:
            raise UserError(f"{self.path} exists; pass --overwrite to replace it")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"cannot create the folder {self.path.parent}: {e.strerror}") from None
        if not os.access(self.path.parent, os.W_OK):
            raise UserError(f"{self.path.parent} is not writable")
        self.info = info
        cmd = self.command(info, tags or {})
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, bufsize=0)
        _grow_pipe(self.proc.stdin, PIPE_SIZE)
        self._drain = _StderrDrain(self.proc.stderr)

    def write(self, frames: np.ndarray | FrameBatch) -> None:
        if isinstance(frames, FrameBatch):
            frames = frames.frames
        if self.proc is None or self.info is None:
            raise RuntimeError("FrameWriter.open() was not called")
        shape = (self.info.height, self.info.width, 3)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:] != shape:
            raise ValueError(f"FrameWriter expects uint8 frames of shape (N, {shape[0]}, {shape[1]}, 3), got {frames.dtype} {frames.shape}")
        view = memoryview(np.ascontiguousarray(frames)).cast("B")
        stdin = self.proc.stdin
        try:
            done = 0
            while done < len(view):
                done += stdin.write(view[done:])
        except (BrokenPipeError, OSError, ValueError):
            self.proc.wait()
            raise UserError(f"encoding {self.path.name} failed ({self._drain.error_line()})") from None
        self.frames_written += len(frames)

    def close(self) -> dict:
        """Finish the file and move it into place."""
        if self.proc is None:
            raise RuntimeError("FrameWriter.open() was not called")
        try:
            try:
                self.proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            rc = self.proc.wait()
            if rc != 0:
                raise UserError(f"encoding {self.path.name} failed ({self._drain.error_line()})")
            if self.frames_written == 0:
                raise UserError(f"no frames to write to {self.path}")
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise
        w, h = self.padded or (self.info.width, self.info.height)
        return {"path": str(self.path), "frames": self.frames_written, "width": w, "height": h,
                "fps": format_rate(self.info.fps), "codec": self.codec, "audio": self.audio,
                **({"padded_to_even": True} if self.padded else {})}

    def abort(self) -> None:
        """Kill ffmpeg and remove the partial file (safe to call more than once)."""
        proc = self.proc
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for stream in (proc.stdin, proc.stderr):
                try:
                    if stream:
                        stream.close()
                except OSError:
                    pass
        try:
            self.tmp.unlink()
        except FileNotFoundError:
            pass


# ---------------------------------------------------------------------------------------------- helpers


def decode_audio_pcm(path: str | Path, seconds: float | None = None) -> np.ndarray:
    """Decode the first audio stream to interleaved s16 PCM (for checks and tests)."""
    cmd = [find_ffmpeg(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:a:0"]
    if seconds is not None:
        cmd += ["-t", str(seconds)]
    cmd += ["-f", "s16le", "-acodec", "pcm_s16le", "-"]
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        raise UserError(f"{path}: cannot decode audio ({ffmpeg_error_line(proc.stderr.decode('utf-8', 'replace').splitlines())})")
    return np.frombuffer(proc.stdout, dtype=np.int16)


def read_all_frames(path: str | Path, batch_size: int = 16) -> np.ndarray:
    """Every frame of a (small) video as one array; for tests and tools."""
    batches = [b.frames for b in FrameReader(path, batch_size=batch_size)]
    return np.concatenate(batches) if batches else np.zeros((0, 0, 0, 3), np.uint8)


# ---------------------------------------------------------------------------------------------- frames on disk

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def _natural_key(path: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def list_frame_images(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder")
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")),
                   key=_natural_key)
    if not files:
        raise UserError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


class ImageFolderReader:
    """Batches of frames from a folder of same-size images in natural order (frame_2 before frame_10).

    Quacks like FrameReader for the Runner: ``info``, ``expected_estimate``, ``warnings``, ``close()``.
    """

    def __init__(self, folder: str | Path, fps: Fraction, batch_size: int = 8):
        from PIL import Image

        self.path = Path(folder)
        self.files = list_frame_images(folder)
        self.batch_size = max(1, batch_size)
        self.start = self.end = None
        try:
            with Image.open(self.files[0]) as im:
                width, height = im.size
        except (OSError, SyntaxError) as e:
            raise UserError(f"{self.files[0]}: not a readable image ({e})") from None
        # RGB images: converted and tagged as a player would show a video of this size
        self.info = resolve_colors(StreamInfo(width=width, height=height, fps=Fraction(fps), frame_count=len(self.files),
                                              duration=float(len(self.files) / Fraction(fps)), path=str(self.path)))
        self.expected_estimate = len(self.files)
        self.warnings: list[str] = []
        self._closed = False

    def _load(self, path: Path, out: np.ndarray) -> None:
        from PIL import Image

        try:
            with Image.open(path) as im:
                if im.size != (self.info.width, self.info.height):
                    raise UserError(f"{path} is {im.size[0]}x{im.size[1]}, the first frame is "
                                    f"{self.info.width}x{self.info.height}; all frames must have one size")
                out[...] = np.asarray(im.convert("RGB"))
        except (OSError, SyntaxError) as e:
            raise UserError(f"{path}: not a readable image ({e})") from None

    def __iter__(self) -> Iterator[FrameBatch]:
        h, w = self.info.height, self.info.width
        for i in range(0, len(self.files), self.batch_size):
            if self._closed:
                return
            chunk = self.files[i:i + self.batch_size]
            buf = np.empty((len(chunk), h, w, 3), np.uint8)
            for j, path in enumerate(chunk):
                self._load(path, buf[j])
            yield FrameBatch(buf, list(range(i, i + len(chunk))), [{"file": p.name} for p in chunk])

    def close(self) -> None:
        self._closed = True


def _prepare_output_folder(out: Path, overwrite: bool) -> Path:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; give a folder for the frames")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UserError(f"{out} is not empty; pass --overwrite to write frames into it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    return tmp


def _commit_folder(tmp: Path, out: Path) -> None:
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.replace(tmp, out)
        return
    for f in tmp.iterdir():  # --overwrite into a folder with other files: replace ours, keep the rest
        os.replace(f, out / f.name)
    tmp.rmdir()


def extract_frames(video: str | Path, out: str | Path, every: int = 1, fmt: str = "png", start=None, end=None,
                   overwrite: bool = False, progress: bool = True) -> dict:
    """Write every ``every``-th frame of ``video`` as OUT/frame_<index>.<fmt> (index = source frame number)."""
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    if every < 1:
        raise UserError("--every must be 1 or more")
    if fmt not in ("png", "jpg"):
        raise UserError("frame format must be png or jpg")
    out = Path(out)
    reader = FrameReader(video, batch_size=8, start=start, end=end)
    tmp = _prepare_output_folder(out, overwrite)
    bar = None
    written = 0
    digits = max(6, len(str(reader.expected_estimate or 0)))
    save_kw = {"compress_level": 1} if fmt == "png" else {"quality": 95}
    try:
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=reader.expected_estimate, unit="frame", desc=out.name, dynamic_ncols=True)
        with ThreadPoolExecutor(max_workers=2) as pool:
            pending = []
            for batch in reader:
                for frame, index in zip(batch.frames, batch.indices):
                    if index % every:
                        continue
                    target = tmp / f"frame_{index:0{digits}d}.{fmt}"
                    pending.append(pool.submit(lambda a, p: Image.fromarray(a).save(p, **save_kw), frame, target))
                    written += 1
                for fut in pending:
                    fut.result()
                pending.clear()
                if bar is not None:
                    bar.update(len(batch))
        _commit_folder(tmp, out)
    except BaseException:
        reader.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    return {"folder": str(out), "written": written, "frames": reader.frames_read, "every": every,
            "fps": format_rate(reader.info.fps), "warnings": reader.warnings}
