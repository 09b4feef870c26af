"""Errors a user can cause. The CLI prints their message as one line and exits non-zero."""


class UserError(Exception):
    """Bad input the user can fix (missing file, wrong model, empty folder). Exit code 1."""

    exit_code = 1


class FlaggedError(Exception):
    """Something was flagged (detect --fail-on-fake). Exit code 3."""

    exit_code = 3
