"""Where a command writes when no -o is given: beside the input, named after the model.

    translate video in.mp4 --model srgan      -> in.srgan.mp4
    translate apply photo.jpg --model srgan   -> photo.srgan.png   (the --format's suffix)
    translate apply photos/ --model runs/h2z  -> photos.h2z/
    translate frames extract in.mp4           -> in.frames/

The model's name is its manifest name, or the run folder's name (a model file is named by its run folder when
it is a run's model.safetensors, else by its stem). These names never replace anything on their own: the
commands refuse an existing output without --overwrite, as they do for an explicit -o.
"""
from __future__ import annotations

from pathlib import Path

from translate.video.writer import CONTAINERS
from translate.weights import manifest
from translate.weights.resolve import RUN_MODEL_FILE


def model_label(spec: str) -> str:
    """The short name of the model ``spec`` names (as --model takes it: a file, a run folder or a name)."""
    path = Path(str(spec)).expanduser()
    if path.is_dir():
        return path.resolve().name
    if path.is_file():
        return path.resolve().parent.name if path.name == RUN_MODEL_FILE else path.stem
    entry = manifest.find(str(spec))
    return entry.name if entry is not None else path.stem or str(spec)


def _beside(path: Path, name: str) -> Path:
    """A sibling of ``path``, relative when ``path`` is (so the printed path reads as typed)."""
    return path.with_name(name) if path.name not in ("", "..") else path.resolve().parent / name


def default_video_output(video: str | Path, model: str, codec: str = "h264") -> Path:
    """in.mp4 -> in.<model>.mp4; a source container the writer cannot make becomes .mp4 (.mkv for ffv1)."""
    video = Path(video)
    suffix = video.suffix.lower()
    if codec == "ffv1":
        suffix = ".mkv"
    elif suffix not in CONTAINERS:
        suffix = ".mp4"
    return _beside(video, f"{video.stem}.{model_label(model)}{suffix}")


def default_image_output(path: str | Path, model: str, suffix: str) -> Path:
    """photo.jpg -> photo.<model><suffix>; a folder photos/ -> photos.<model>/ (its tree mirrored inside)."""
    path = Path(path)
    label = model_label(model)
    if path.is_dir():
        return _beside(path, f"{(path if path.name not in ('', '..') else path.resolve()).name}.{label}")
    return _beside(path, f"{path.stem}.{label}{suffix}")


def default_frames_folder(video: str | Path) -> Path:
    """in.mp4 -> in.frames/ beside it."""
    video = Path(video)
    return _beside(video, f"{video.stem}.frames")
