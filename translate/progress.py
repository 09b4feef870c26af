"""The one way to make a progress bar: tqdm on a terminal, a few plain lines in logs, nothing when quiet.

A tqdm bar redraws itself with carriage returns several times a second; in a log file or a CI capture that
is a stream of redraws (about 30 KB for 200 files). When the stream is not a terminal, the bar prints one
plain line (count, rate, ETA) at most every PLAIN_INTERVAL_S seconds, plus the final count.
"""
from __future__ import annotations

import re
import sys
from typing import TextIO

from tqdm import tqdm

PLAIN_INTERVAL_S = 5.0
PLAIN_FORMAT = "{desc}: {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]{postfix}"
PLAIN_FORMAT_NO_TOTAL = "{desc}: {n_fmt} [{elapsed}, {rate_fmt}]{postfix}"
_ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _PlainLines:
    """A file for tqdm that turns its in-place redraws into whole lines, each written once.

    Lines of a bar that has not moved yet are left out, so a command that fails at once prints its error alone."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.last = ""
        self.bar: tqdm | None = None

    def write(self, text: str) -> None:
        if self.bar is None or self.bar.n == self.bar_start:
            return
        for piece in _ESCAPES.sub("", text).replace("\r", "\n").split("\n"):
            line = piece.strip()
            if line and line != self.last:
                self.stream.write(line + "\n")
                self.last = line

    def flush(self) -> None:
        self.stream.flush()


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False


def progress_bar(total: int | None = None, desc: str | None = None, unit: str = "it", quiet: bool = False,
                 initial: int = 0, leave: bool = True, stream: TextIO | None = None, iterable=None, **options) -> tqdm:
    """A tqdm bar on ``stream`` (stderr by default): redrawn in place on a terminal, plain lines otherwise.

    ``quiet`` gives a disabled bar, so callers use the same object either way (update, set_postfix, close).
    ``iterable``: iterate over the bar to step it. ``options`` go to tqdm as they are (unit_scale, unit_divisor).
    """
    stream = stream if stream is not None else sys.stderr
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    if quiet:
        return tqdm(iterable, total=total, initial=initial, disable=True)
    if is_terminal(stream):
        return tqdm(iterable, total=total, initial=initial, desc=desc, unit=unit, leave=leave, file=stream, dynamic_ncols=True,
                    **options)
    lines = _PlainLines(stream)
    bar = tqdm(iterable, total=total, initial=initial, desc=desc or "progress", unit=unit, leave=True, file=lines,
               mininterval=PLAIN_INTERVAL_S, maxinterval=PLAIN_INTERVAL_S * 2, ascii=True,
               bar_format=PLAIN_FORMAT if total else PLAIN_FORMAT_NO_TOTAL, **options)
    lines.bar, lines.bar_start = bar, initial
    return bar
