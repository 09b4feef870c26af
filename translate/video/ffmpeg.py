"""Locating ffmpeg/ffprobe, building their command lines (ffmpeg-python), their error lines and their pipes.

Command lines are ffmpeg-python stream graphs compiled to an argv (``compile_command``); running them is ours:
``start_process`` / ``stop_process`` (own process group, so Ctrl-C reaches Python, which stops ffmpeg and
removes the partial output), stderr drained in the background, one-line errors from ``ffmpeg_error_line``.
ffmpeg-python's own ``probe`` needs ffprobe, so probing stays in probe.py.
"""
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

from translate.cleanup import quietly
from translate.errors import UserError

PIPE_SIZE = 1 << 20  # Linux default max for unprivileged F_SETPIPE_SZ
_F_SETPIPE_SZ = 1031
QUIET = ("-hide_banner", "-nostdin", "-loglevel", "error")

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


def passthrough_args(exe: str) -> dict[str, str]:
    """Output option (ffmpeg-python kwargs) that makes ffmpeg pass every decoded frame once, with no
    duplication or dropping."""
    return {"fps_mode": "passthrough"} if ffmpeg_major_version(exe) >= 5 else {"vsync": "passthrough"}


# ---------------------------------------------------------------------------------------------- command lines


def compile_command(stream, ffmpeg_exe: str, *global_args: str) -> list[str]:
    """The argv of an ffmpeg-python output ``stream`` (``.compile()``), run by ``ffmpeg_exe``, global options first."""
    return [ffmpeg_exe, *global_args, *stream.compile(cmd=[])]


def metadata_args(tags: dict[str, str]) -> dict[str, str]:
    """Output kwargs setting global metadata ``tags``: ffmpeg-python takes one value per option, and ffmpeg
    reads ``-metadata:g:N`` as ``-metadata`` (the global specifier ignores what follows it)."""
    return {f"metadata:g:{i}": f"{key}={value}" for i, (key, value) in enumerate(tags.items())}


# ---------------------------------------------------------------------------------------------- processes


def start_process(cmd: list[str], *, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL) -> subprocess.Popen:
    """Start ffmpeg with stderr piped, in its own process group: a terminal's Ctrl-C goes to Python alone,
    whose cleanup stops ffmpeg (ffmpeg catching it too would race that cleanup with its own error)."""
    try:
        return subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, bufsize=0, process_group=0)
    except OSError as e:
        raise UserError(f"cannot run {cmd[0]} ({e.strerror}); set TRANSLATE_FFMPEG to a working ffmpeg") from None


def stop_process(proc: subprocess.Popen | None, drain: "_StderrDrain | None" = None) -> None:
    """Kill ``proc`` if it still runs, reap it, close its pipes and let the stderr drain finish.
    Safe in any state (None, never started, already stopped) and never raises."""
    if proc is None:
        return
    if proc.poll() is None:
        quietly(proc.kill, what="killing ffmpeg")
    try:
        proc.wait(timeout=10)
    except Exception:  # noqa: BLE001 - a process that ignores SIGKILL for 10 s is the kernel's problem
        pass
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            quietly(stream.close, what="closing an ffmpeg pipe")
    if drain is not None:
        drain.join(timeout=5)
    if proc.stderr is not None and (drain is None or not drain.is_alive()):
        quietly(proc.stderr.close, what="closing ffmpeg's stderr")


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
