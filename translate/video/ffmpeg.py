"""Locating ffmpeg/ffprobe, their error lines and the plumbing of their pipes."""
from __future__ import annotations

import fcntl
import functools
import os
import re
import shutil
import subprocess
import threading
from collections import deque
from pathlib import Path

from translate.errors import UserError

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
