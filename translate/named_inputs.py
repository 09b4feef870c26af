"""One rule for inputs given on the command line, shared by `apply`, `detect` and `batch`.

- A file named on the command line that cannot be read (missing, empty, truncated, not an image, a
  decompression bomb...) is one `error:` line and writes no output of its own; the others are still processed.
- A file found inside a named folder that cannot be read is skipped: one `warning: skipped:` line, counted.
- The exit code is 1 when any named file failed, or when nothing at all was written; else 0.
A path that does not exist (a typo) is a usage error, reported before any work, not a failure of this kind.
Commands record what happened in an InputOutcome and print its lines; the library never exits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class InputFailure:
    path: Path
    message: str
    named: bool  # named on the command line (not found inside a named folder)


@dataclass
class InputOutcome:
    done: int = 0
    failures: list[InputFailure] = field(default_factory=list)

    def fail(self, path: str | Path, message: str, named: bool) -> None:
        path = Path(path)
        if str(path) not in message and path.name not in message:
            message = f"{path}: {message}"
        self.failures.append(InputFailure(path, message, named))

    @property
    def named_failures(self) -> list[InputFailure]:
        return [f for f in self.failures if f.named]

    @property
    def skipped(self) -> list[InputFailure]:
        """Unreadable files found inside folders."""
        return [f for f in self.failures if not f.named]

    def stderr_lines(self, nothing: str = "nothing was written") -> list[str]:
        """The warning and error lines to print, in input order; ``nothing`` words the all-failed case."""
        lines = [f"error: {f.message}" if f.named else f"warning: skipped: {f.message}" for f in self.failures]
        if self.done == 0 and not self.named_failures:
            lines.append(f"error: {nothing}" + (f": {len(self.skipped)} unreadable file(s) skipped" if self.skipped else ""))
        return lines

    @property
    def exit_code(self) -> int:
        return 1 if self.named_failures or self.done == 0 else 0
