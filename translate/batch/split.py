"""`--split-long SECONDS`: one long video as chunks cut at keyframes, translated in parallel, joined losslessly.

Cuts are chosen from the probed keyframes only (a packet scan, nothing decoded): the first keyframe at least
SECONDS after the previous cut. A chunk is read from half a frame before its first frame (ffmpeg's accurate
seek drops the decoded frames before that time, so rounding can neither drop nor repeat a frame at a cut) and
stops after exactly its number of frames (-frames:v: ffmpeg's -t cuts by packet time, which with B-frames lets
one frame of the next chunk in). The chunks (encoded alike, no audio) are
joined with ffmpeg's concat demuxer without re-encoding; the source's audio is muxed once at the end; the
result is checked to hold exactly the source's frame count before it is renamed into place.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from translate.errors import UserError
from translate.video.ffmpeg import ffmpeg_error_line, find_ffmpeg
from translate.video.probe import probe, probe_audio
from translate.video.reader import FrameReader
from translate.video.writer import audio_plan, output_container, temporary_path

CONTAINER_TAGS = {"major_brand", "minor_version", "compatible_brands", "encoder"}  # the muxer writes its own


class ChunkReader(FrameReader):
    """A FrameReader from ``start`` that stops after exactly ``frames`` frames."""

    def __init__(self, path: str | Path, frames: int, batch_size: int = 4, start: float | None = None):
        super().__init__(path, batch_size=batch_size, start=start)
        self.frames = int(frames)
        self.expected_estimate = self.frames

    def command(self) -> list[str]:
        cmd = super().command()  # ... output options, then the output (the pipe) last
        return [*cmd[:-1], "-frames:v", str(self.frames), cmd[-1]]


@dataclass(frozen=True)
class Chunk:
    index: int
    start: float | None  # seconds from the first frame; None: from the beginning
    frames: int


def scan_keyframes(path: str | Path) -> tuple[list[int], list[int], Fraction]:
    """(every video packet's pts in presentation order, the keyframes' pts, the time base), from a packet scan."""
    cmd = [find_ffmpeg(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:v:0",
           "-c", "copy", "-f", "framecrc", "-"]
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        raise UserError(f"{path}: not a readable video ({ffmpeg_error_line(proc.stderr.decode('utf-8', 'replace').splitlines())})")
    pts, keys, time_base = [], [], Fraction(1)
    for line in proc.stdout.decode("ascii", "replace").splitlines():
        if line.startswith("#tb 0:"):
            time_base = Fraction(line.split(":", 1)[1].strip())
        if line.startswith("#") or not line.strip():
            continue
        cols = [c.strip() for c in line.split(",")]
        try:
            p = int(cols[2])
        except (IndexError, ValueError):  # a packet without a timestamp: this file is not split
            return [], [], time_base
        flags = next((int(c[2:], 16) for c in cols[6:] if c.startswith("F=")), 1)  # no F= means a keyframe
        pts.append(p)
        if flags & 1:
            keys.append(p)
    return sorted(pts), sorted(keys), time_base


def plan_chunks(pts: list[int], keys: list[int], time_base: Fraction, seconds: float) -> list[Chunk]:
    """Chunks of at least ``seconds`` each, cut at keyframes (one chunk when the video is short or has one keyframe)."""
    if not pts:
        return []
    first = pts[0]
    index_of = {p: i for i, p in enumerate(pts)}
    cuts = [0]
    for k in keys:
        i = index_of.get(k)
        if i and (k - pts[cuts[-1]]) * time_base >= seconds:
            cuts.append(i)
    cuts.append(len(pts))

    def before(i: int) -> float | None:  # half-way between frame i-1 and frame i, in seconds from the first frame
        if i <= 0 or i >= len(pts):
            return None
        return float((Fraction(pts[i - 1] + pts[i], 2) - first) * time_base)

    return [Chunk(n, before(a), b - a) for n, (a, b) in enumerate(zip(cuts, cuts[1:]))]


def chunks_for(path: str | Path, seconds: float) -> list[Chunk]:
    pts, keys, time_base = scan_keyframes(path)
    return plan_chunks(pts, keys, time_base, seconds)


def chunk_folder(output: Path, key: str) -> Path:
    return output.parent / f".{output.stem}.chunks-{key[:12]}"


def chunk_path(output: Path, key: str, index: int) -> Path:
    return chunk_folder(output, key) / f"part-{index:04d}{output.suffix}"


def join_chunks(parts: list[Path], source: str | Path, output: Path, keep_audio: bool, overwrite: bool) -> dict:
    """Concatenate ``parts`` (no re-encode), mux the source's audio once, check the frame count, rename into place."""
    if output.exists() and not overwrite:
        raise UserError(f"{output} exists; pass --overwrite to replace it")
    container = output_container(output)
    listing = parts[0].parent / "concat.txt"
    listing.write_text("".join(f"file '{p.resolve().as_posix()}'\n" for p in parts), encoding="utf-8")
    audio_codec = probe_audio(source) if keep_audio else None
    cmd = [find_ffmpeg(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
           "-i", str(listing)]
    if audio_codec:
        cmd += ["-i", str(source)]
    cmd += ["-map", "0:v:0", "-c:v", "copy"]
    for key, value in probe(parts[0]).tags.items():  # the provenance tags every chunk carries
        if key not in CONTAINER_TAGS:
            cmd += ["-metadata", f"{key}={value}"]
    audio = "none"
    if audio_codec:
        plan = audio_plan(container, audio_codec)
        cmd += ["-map", "1:a?"] + (["-c:a", "copy"] if plan == "copy" else ["-c:a", "aac", "-b:a", "192k"])
        audio = f"copied ({audio_codec})" if plan == "copy" else f"re-encoded {audio_codec} to aac"
    if container in ("mp4", "mov"):
        cmd += ["-movflags", "+faststart+use_metadata_tags"]
    tmp = temporary_path(output)
    cmd += ["-f", container, str(tmp)]
    proc = subprocess.run(cmd, capture_output=True)
    try:
        if proc.returncode != 0:
            raise UserError(f"joining the chunks of {source} failed "
                            f"({ffmpeg_error_line(proc.stderr.decode('utf-8', 'replace').splitlines())})")
        want, got = probe(source, scan=True).frame_count, probe(tmp, scan=True).frame_count
        if want != got:
            raise UserError(f"the joined chunks of {source} hold {got} frames, the source {want}")
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    return {"frames": got, "audio": audio}
