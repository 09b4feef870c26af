"""Run a Translator over image files and folders: mirrored output tree, batched, decoding overlapped with compute."""
from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from translate.data.images import is_image_path, list_images, load_rgb
from translate.errors import UserError

FORMATS = {"png": ".png", "jpg": ".jpg", "webp": ".webp"}


@dataclass
class Job:
    src: Path
    dst: Path


def plan_jobs(inputs: list[str], out_dir: Path, fmt: str, overwrite: bool) -> list[Job]:
    """One job per image; a folder's tree is mirrored under out_dir/<folder name>/."""
    jobs: list[Job] = []
    suffix = FORMATS[fmt]
    for raw in inputs:
        src = Path(raw)
        if src.is_dir():
            for p in list_images(src, "input"):
                jobs.append(Job(p, out_dir / src.resolve().name / p.relative_to(src).with_suffix(suffix)))
        elif src.is_file():
            if not is_image_path(src):
                raise UserError(f"{src} is not an image file (for videos use 'translate video')")
            jobs.append(Job(src, out_dir / src.with_suffix(suffix).name))
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


def apply_to_images(translator, inputs: list[str], out_dir: Path, fmt: str = "png", overwrite: bool = False,
                    quality: int = 95) -> dict:
    """Translate every input image; returns counts. Unreadable images are skipped and counted."""
    from translate.provenance import provenance_tags, save_image_with_provenance

    jobs = plan_jobs(inputs, out_dir, fmt, overwrite)
    tags = provenance_tags(translator.model_name, translator.model_sha256)
    done, failed = 0, []
    chunk = max(translator.batch_size * 4, 16)

    def load(job: Job):
        try:
            return load_rgb(job.src)
        except UserError as e:
            failed.append(str(e))
            return None

    with ThreadPoolExecutor(max_workers=4) as pool, tqdm(total=len(jobs), unit="img", desc="apply", file=sys.stderr,
                                                        disable=len(jobs) < 2) as bar:
        pending = pool.map(load, jobs[:chunk])
        for start in range(0, len(jobs), chunk):
            images = list(pending)
            nxt = jobs[start + chunk:start + 2 * chunk]
            pending = pool.map(load, nxt)  # decode the next chunk while this one runs through the model
            part = jobs[start:start + chunk]
            for idx in _batches(part, images, translator.batch_size):
                outs = translator(np.stack([images[i] for i in idx]))
                for i, out in zip(idx, outs):
                    save_image_with_provenance(part[i].dst, out, tags, quality=quality)
                    done += 1
            bar.update(len(part))
    for msg in failed:
        print(f"warning: skipped: {msg}", file=sys.stderr)
    return {"written": done, "skipped": len(failed), "out": str(out_dir)}
