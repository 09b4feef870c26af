"""Translate / Upscale tab, page-free: one uploaded image or video through the same library calls as the CLI.

An image goes through ``apply_to_images`` (what `translate apply` runs), a video through ``run_chain`` with the
chain `translate video` builds (translate.video.command), its options defaulted exactly as the command's.
Every result is a new folder under ``out_dir``; nothing the user had is touched.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from translate.data.images import load_rgb
from translate.detect.run import kind_of
from translate.errors import UserError

# Video flags offered as checkboxes: `translate video` option name -> label. One line per option; an option
# shows only once the video command has it (so "temporal" appears when --temporal lands).
VIDEO_FLAGS = {
    "faces": "Faces only (--faces): detect, align, translate the face, blend it back",
    "temporal": "Temporal consistency (--temporal): steadier frames, less flicker",
}


@dataclass
class TranslateResult:
    kind: str  # "image" | "video"
    output: Path
    before: np.ndarray  # the input (a video's first frame), resized to the output's size for the comparison
    after: np.ndarray
    summary: str


def video_command_defaults() -> dict:
    """Every `translate video` option at its default, by parameter name (the command is the one place they live)."""
    from translate.cli.video import video

    ctx = video.make_context("video", ["IN", "--model", "MODEL", "-o", "OUT"])  # parsed by the command itself
    return {k: v for k, v in ctx.params.items() if k not in ("input", "model", "output")}


def available_flags() -> dict[str, str]:
    defaults = video_command_defaults()
    return {name: label for name, label in VIDEO_FLAGS.items() if name in defaults}


def job_folder(out_dir: Path, kind: str) -> Path:
    """A new folder for one job's outputs: OUT/<kind>/<time>-<random>/."""
    parent = Path(out_dir) / kind
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=parent))


def first_frame(path: Path) -> np.ndarray:
    from translate.video.reader import FrameReader

    reader = FrameReader(path, batch_size=1)
    try:
        for batch in reader:
            return batch.frames[0]
    finally:
        reader.close()
    raise UserError(f"{path.name}: no frame was decoded")


def resized_like(image: np.ndarray, like: np.ndarray) -> np.ndarray:
    if image.shape == like.shape:
        return image
    return np.asarray(Image.fromarray(image).resize((like.shape[1], like.shape[0]), Image.BICUBIC))


def translate_image(path: Path, model: str, direction: str | None, folder: Path, device: str) -> TranslateResult:
    from translate.apply_images import apply_to_images
    from translate.infer import Translator

    before = load_rgb(path)  # the CLI's one-line error for an unreadable image, before loading the model
    translator = Translator(model, direction=direction, device=device)
    result = apply_to_images(translator, [str(path)], folder)
    output = folder / path.with_suffix(".png").name
    if not result["written"] or not output.is_file():
        raise UserError(f"cannot read image {path.name}")
    after = load_rgb(output)
    h, w = before.shape[:2]
    return TranslateResult("image", output, resized_like(before, after), after,
                           f"wrote {output.name}: {w}x{h} -> {after.shape[1]}x{after.shape[0]} with {translator.model_name}")


def translate_video(path: Path, model: str, direction: str | None, flags: dict[str, bool], folder: Path,
                    device: str) -> TranslateResult:
    from translate.video.command import video_chain
    from translate.video.runner import run_chain

    output = folder / f"{path.stem}.mp4"
    opts = {**video_command_defaults(), "input": str(path), "model": model, "output": str(output),
            "direction": direction, "device": device, **flags}
    summary = run_chain(video_chain(opts), progress=True)  # its tqdm bar is the page's progress bar
    out = summary["output"]
    after = first_frame(output)
    line = (f"wrote {output.name}: {out['frames']} frames, {out['width']}x{out['height']} at {out['fps']} fps, "
            f"audio {out['audio']}; {summary['fps']} frames/s")
    return TranslateResult("video", output, resized_like(first_frame(path), after), after, line)


def run_translate(upload: Path, model: str, direction: str | None, flags: dict[str, bool], out_dir: Path,
                  device: str = "auto") -> TranslateResult:
    """Translate or upscale one uploaded file into a new job folder under ``out_dir``."""
    if not model:
        raise UserError("no model picked: choose one from the list (or train one in the Train tab)")
    flags = {name: bool(on) for name, on in flags.items() if name in available_flags()}
    kind = kind_of(upload)
    if kind == "image" and any(flags.values()):
        given = ", ".join(f"--{name}" for name, on in flags.items() if on)
        raise UserError(f"{given} apply to videos; untick them to translate an image")
    folder = job_folder(out_dir, "translate")
    try:
        if kind == "image":
            return translate_image(upload, model, direction, folder, device)
        return translate_video(upload, model, direction, flags, folder, device)
    except BaseException:
        if not any(folder.iterdir()):
            folder.rmdir()
        raise
