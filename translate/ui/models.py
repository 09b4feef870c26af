"""The page's model picker: manifest names present here, other weight files, and run folders, with what each does."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from translate.weights import manifest
from translate.weights.modelfile import read_info
from translate.weights.resolve import RUN_MODEL_FILE

PICKABLE_TASKS = ("translate", "sr", "faces")  # what the Translate / Upscale tab runs


@dataclass(frozen=True)
class ModelChoice:
    value: str  # what --model accepts: a manifest name or a path
    label: str  # what the dropdown shows: the name (file name, runs/<run>) and its task, directions and scale


def describe(path: Path) -> str:
    """ "sr x4, AtoB" / "translate, AtoB BtoA" / "faces (Faces only), AtoB BtoA" from the model file's header."""
    info = read_info(path)
    what = info.task + (f" x{info.scale}" if info.scale > 1 else "") + (" (Faces only)" if info.task == "faces" else "")
    directions = " ".join(info.directions)
    return f"{what}, {directions}" if directions else what


def _labelled(value: str, path: Path, shown: str | None = None) -> ModelChoice | None:
    try:
        details = describe(path)
    except Exception:  # noqa: BLE001 - a damaged file is left out of the list; --model would report it
        return None
    task = details.split(",")[0].split()[0]
    return ModelChoice(value, f"{shown or value} - {details}") if task in PICKABLE_TASKS else None


def model_choices(run_roots: list[Path]) -> list[ModelChoice]:
    """Manifest entries whose file is on this machine, other .safetensors in the weights folders, then every
    run folder (one holding model.safetensors) under ``run_roots``."""
    choices: list[ModelChoice] = []
    named_files: set[Path] = set()
    for entry in manifest.entries():
        path = manifest.locate(entry)
        if entry.task in PICKABLE_TASKS and path is not None:
            named_files.add(path.resolve())
            choice = _labelled(entry.name, path)
            if choice:
                choices.append(choice)
    for folder in [*manifest.env_weights_dirs(), manifest.user_cache_dir()]:
        for path in sorted(folder.glob("*.safetensors")) if folder.is_dir() else []:
            if path.resolve() not in named_files:
                choice = _labelled(str(path), path, path.name)
                if choice:
                    choices.append(choice)
    for root in run_roots:
        for path in sorted(root.glob(f"*/{RUN_MODEL_FILE}")) if root.is_dir() else []:
            choice = _labelled(str(path.parent), path, f"{root.name}/{path.parent.name}")
            if choice:
                choices.append(choice)
    return choices
