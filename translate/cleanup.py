"""Cleanup that never masks the error which led to it.

Abort, close and remove-the-partial-file paths run while an error is already on its way to the user. A second
failure there (a folder that is really a file, a pipe already closed) must not replace that error: it is
logged at debug level (`--debug` shows it) and swallowed.
"""
from __future__ import annotations

import logging
import shutil
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

log = logging.getLogger("translate.cleanup")


def quietly(action: Callable[..., object], *args, what: str = "") -> None:
    """Run one cleanup step; any Exception it raises is logged at debug level, never raised."""
    try:
        action(*args)
    except Exception:  # noqa: BLE001 - cleanup must not replace the error being reported
        log.debug("cleanup step %s failed", what or getattr(action, "__qualname__", action), exc_info=True)


def remove_partial(path: str | Path | None) -> None:
    """Remove a temporary file or folder if it is there; safe on any path, even one under a plain file."""
    if path is None:
        return
    path = Path(path)

    def _remove() -> None:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)

    quietly(_remove, what=f"removing {path}")


class StopOnInterrupt:
    """The first Ctrl-C (SIGINT) ends ``iterate`` after the item in hand, so the loop can save what it has;
    a second one interrupts at once. The handler is installed only while iterating, in the main thread."""

    def __init__(self) -> None:
        self.requested = False

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def iterate(self, items: Iterable) -> Iterator:
        """``items`` until Ctrl-C; the source is closed (a reader: its ffmpeg stopped) when the loop ends."""
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, self._handle) if main else None
        try:
            for item in items:
                yield item
                if self.requested:
                    return
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
            close = getattr(items, "close", None)
            if close is not None:
                quietly(close, what="closing the interrupted source")
