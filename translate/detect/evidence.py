"""Evidence sheets for `translate detect --evidence DIR`: one contact-sheet PNG per scored input.

A video's sheet holds its most suspicious sampled frames (highest scores first, at most ``top``), each
labelled "frame N  0.93 fake"; an image's sheet holds the image with its score and verdict. The frames are
decoded again after scoring (only the chosen indices are kept), so scoring never holds a clip in memory.
Sheets are written to a temporary name and renamed when whole; an existing sheet of the same name is
replaced only by a complete one. Names: ``<input stem>.evidence.png`` (the input's suffix kept in the stem
when two inputs share a stem, e.g. clip.mp4 and clip.png).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from translate.detect.calibrate import verdict
from translate.detect.report import FileResult
from translate.detect.stage import VERDICT_COLOURS

TOP = 8
THUMB = 256  # longest side of a tile, px
COLUMNS = 4
LABEL_H = 22


def most_suspicious(result: FileResult, top: int = TOP) -> list[tuple[int, float]]:
    """(frame index, score) of the ``top`` highest-scoring sampled frames, highest first (an image: (0, score))."""
    if not result.frame_scores:
        return [(0, result.score)]
    order = np.argsort(-np.asarray(result.frame_scores), kind="stable")[:top]
    return [(result.frame_indices[i], result.frame_scores[i]) for i in order]


def video_frames(path: str, indices: set[int]) -> dict[int, np.ndarray]:
    """The frames of ``path`` at ``indices`` (decoded in one pass, the rest dropped)."""
    from translate.video.reader import FrameReader

    wanted, out = set(indices), {}
    for batch in FrameReader(path, batch_size=16):
        for i, index in enumerate(batch.indices):
            if index in wanted:
                out[index] = batch.frames[i].copy()
        if len(out) == len(wanted):
            break
    return out


def _tile(frame: np.ndarray, label: str, colour: tuple[int, int, int]):
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame)
    image.thumbnail((THUMB, THUMB))
    tile = Image.new("RGB", (THUMB, THUMB + LABEL_H), (24, 24, 24))
    tile.paste(image, ((THUMB - image.width) // 2, LABEL_H + (THUMB - image.height) // 2))
    draw = ImageDraw.Draw(tile)
    draw.rectangle([0, 0, THUMB - 1, LABEL_H - 1], fill=colour)
    draw.text((4, 5), label, fill=(255, 255, 255))
    return tile


def contact_sheet(tiles: list, title: str):
    from PIL import Image, ImageDraw

    cols = min(COLUMNS, len(tiles))
    rows = (len(tiles) + cols - 1) // cols
    tw, th = tiles[0].size
    sheet = Image.new("RGB", (cols * tw, LABEL_H + rows * th), (0, 0, 0))
    ImageDraw.Draw(sheet).text((4, 5), title, fill=(255, 255, 255))
    for k, tile in enumerate(tiles):
        sheet.paste(tile, ((k % cols) * tw, LABEL_H + (k // cols) * th))
    return sheet


def sheet_name(result: FileResult, stems: dict[str, int]) -> str:
    path = Path(result.path)
    stem = path.stem if stems.get(path.stem, 0) <= 1 else path.name.replace(".", "_")
    return f"{stem}.evidence.png"


def write_evidence(folder, results: list[FileResult], top: int = TOP) -> list[Path]:
    """One sheet per scored result in ``folder`` (created); returns the paths written."""
    from translate.data.images import load_rgb
    from translate.errors import ensure_folder

    folder = Path(folder)
    ensure_folder(folder)
    scored = [r for r in results if r.error is None]
    stems: dict[str, int] = {}
    for r in scored:
        stems[Path(r.path).stem] = stems.get(Path(r.path).stem, 0) + 1
    written = []
    for r in scored:
        picks = most_suspicious(r, top)
        if r.kind == "video":
            frames = video_frames(r.path, {i for i, _ in picks})
            labelled = [(frames[i], f"frame {i}  {s:.3f}", s) for i, s in picks if i in frames]
        else:
            labelled = [(load_rgb(r.path), f"{r.score:.3f}", r.score)]
        tiles = [_tile(f, f"{text} {verdict(s, r.threshold, r.uncertain_threshold)}",
                       VERDICT_COLOURS[verdict(s, r.threshold, r.uncertain_threshold)]) for f, text, s in labelled]
        if not tiles:
            continue
        title = f"{Path(r.path).name}: {r.score:.3f} {r.verdict} (threshold {r.threshold:.3f})"
        target = folder / sheet_name(r, stems)
        tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
        try:
            contact_sheet(tiles, title).save(tmp, format="PNG")
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        written.append(target)
    return written
