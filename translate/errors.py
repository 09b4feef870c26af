"""Errors a user can cause. The CLI prints their message as one line and exits non-zero."""


class UserError(Exception):
    """Bad input the user can fix (missing file, wrong model, empty folder). Exit code 1."""

    exit_code = 1


class FlaggedError(Exception):
    """Something was flagged (detect --fail-on-fake). Exit code 3."""

    exit_code = 3


def ensure_folder(folder) -> None:
    """Create an output folder (and its parents), or raise UserError naming what is in the way."""
    from pathlib import Path

    folder = Path(folder)
    blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise UserError(f"{blocking} is a file, not a folder: choose an output path that is not under it")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create the folder {folder}: {e.strerror}") from None
