"""Run a Translator over image files and folders: mirrored output tree, batched, decoding overlapped with compute."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from translate.data.images import is_image_path, list_images, load_rgb
from translate.errors import UserError
from translate.named_inputs import InputOutcome
from translate.output_names import default_image_output
from translate.progress import progress_bar

FORMATS = {"png": ".png", "jpg": ".jpg", "webp": ".webp"}


@dataclass
class Job:
    src: Path
    dst: Path
    named: bool  # the file was named on the command line (not found inside a folder)


def _destination_root(src: Path, out_dir: Path | None, model: str | None, suffix: str) -> Path:
    """Where ``src`` (a file or a folder) goes: inside out_dir, or beside it named after the model."""
    if out_dir is not None:
        return out_dir / (src.resolve().name if src.is_dir() else src.with_suffix(suffix).name)
    return default_image_output(src, model, suffix)


def plan_jobs(inputs: list[str], out_dir: Path | None, fmt: str, overwrite: bool, model: str | None = None,
              outcome: InputOutcome | None = None) -> list[Job]:
    """One job per image; a folder's tree is mirrored under out_dir/<folder name>/ (or beside it: photos.<model>/).

    Without ``out_dir`` every input is written beside itself (translate.output_names). A named file that is not
    an image is recorded in ``outcome`` (when given; else it is a UserError) and planned no job; a missing path
    is a UserError straight away.
    """
    jobs: list[Job] = []
    suffix = FORMATS[fmt]

    def fail(src: Path, message: str) -> None:
        if outcome is None:
            raise UserError(message)
        outcome.fail(src, message, named=True)

    for raw in inputs:
        src = Path(raw)
        if src.is_dir():
            root = _destination_root(src, out_dir, model, suffix)
            for p in list_images(src, "input"):
                jobs.append(Job(p, root / p.relative_to(src).with_suffix(suffix), named=False))
        elif src.is_file() and is_image_path(src):
            jobs.append(Job(src, _destination_root(src, out_dir, model, suffix), named=True))
        elif src.is_file():
            fail(src, f"{src} is not an image file (for videos use 'translate video')")
        else:
            raise UserError(f"input {src} does not exist")
    inputs_resolved = {j.src.resolve() for j in jobs}
    clashes = [j for j in jobs if j.dst.resolve() in inputs_resolved]
    if clashes:
        raise UserError(f"output {clashes[0].dst} would overwrite an input: choose another -o folder")
    seen: dict[Path, Path] = {}
    for j in jobs:
        if j.dst in seen:
            raise UserError(f"{seen[j.dst]} and {j.src} would both be written to {j.dst}: apply them to separate -o folders")
        seen[j.dst] = j.src
    existing = [j for j in jobs if j.dst.exists()]
    if existing and not overwrite:
        raise UserError(f"{len(existing)} output(s) already exist (e.g. {existing[0].dst}): add --overwrite or choose another -o folder")
    return jobs


def _batches(jobs: list[Job], images: list[np.ndarray | None], batch_size: int):
    """Consecutive jobs whose images share a size form one batch."""
    batch: list[int] = []
    for i, img in enumerate(images):
        if img is None:
            continue
        if batch and (images[batch[0]].shape != img.shape or len(batch) == batch_size):
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


def apply_to_images(translator, inputs: list[str], out_dir: Path | None = None, fmt: str = "png",
                    overwrite: bool = False, quality: int = 95, model: str | None = None, quiet: bool = False) -> dict:
    """Translate every input image; returns counts, the outputs' roots and the InputOutcome (translate.named_inputs).

    Without ``out_dir``, outputs go beside the inputs, named after ``model`` (the --model the user gave).
    A named file that cannot be read is a failure of its own; unreadable files inside folders are skipped.
    """
    from translate.provenance import provenance_tags, save_image_with_provenance

    outcome = InputOutcome()
    jobs = plan_jobs(inputs, out_dir, fmt, overwrite, model or translator.model_name, outcome)
    tags = provenance_tags(translator.model_name, translator.model_sha256)
    written: list[Job] = []
    chunk = max(translator.batch_size * 4, 16)

    def load(job: Job) -> np.ndarray | str:
        try:
            return load_rgb(job.src)
        except UserError as e:
            return str(e)  # recorded below, in input order

    with ThreadPoolExecutor(max_workers=4) as pool, progress_bar(len(jobs), desc="apply", unit="img",
                                                                 quiet=quiet or len(jobs) < 2) as bar:
        pending = pool.map(load, jobs[:chunk])
        for start in range(0, len(jobs), chunk):
            images = list(pending)
            part = jobs[start:start + chunk]
            for i, image in enumerate(images):
                if isinstance(image, str):
                    outcome.fail(part[i].src, image, part[i].named)
                    images[i] = None
            nxt = jobs[start + chunk:start + 2 * chunk]
            pending = pool.map(load, nxt)  # decode the next chunk while this one runs through the model
            for idx in _batches(part, images, translator.batch_size):
                outs = translator(np.stack([images[i] for i in idx]))
                for i, out in zip(idx, outs):
                    save_image_with_provenance(part[i].dst, out, tags, quality=quality)
                    written.append(part[i])
            bar.update(len(part))
    outcome.done = len(written)
    roots = [str(out_dir)] if out_dir is not None else _written_roots(inputs, written, fmt, model or translator.model_name)
    return {"written": len(written), "skipped": len(outcome.skipped), "out": ", ".join(roots), "outcome": outcome}


def _written_roots(inputs: list[str], written: list[Job], fmt: str, model: str) -> list[str]:
    """The default outputs (one per input: a file or a folder) that received at least one image."""
    done = {j.dst for j in written}
    roots = []
    for raw in inputs:
        root = default_image_output(raw, model, FORMATS[fmt])
        if root in done or any(root in d.parents for d in done):
            roots.append(str(root) + ("/" if Path(raw).is_dir() else ""))
    return roots
