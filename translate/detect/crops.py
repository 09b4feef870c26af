"""Which regions of a frame the detector scores, and how their scores make the frame's score.

- Faces given (boxes or 68-point landmarks, e.g. meta["faces"] of the faces stage): one square crop per
  face, the face box enlarged 1.3x around its centre (FaceForensics++'s margin; the DFDC winner used 30%),
  clipped to the frame. Frame score = the **max** over faces: a video with one swapped face among several
  real ones is a manipulated video.
- No faces: the whole image when both sides are at most ``max_side`` (512) pixels; larger frames are cut
  into ``tile`` x ``tile`` (256) tiles covering the frame (the last row/column aligned with the edge, so
  every tile is full size and may overlap its neighbour), at most ``max_tiles`` (16) evenly spread ones.
  Frame score = the **mean** over tiles. Why mean: what this tool generates without faces (SRGAN,
  CycleGAN, Pix2Pix output) is whole-frame, so every tile carries the trace and the mean keeps it while
  averaging the per-tile noise; a max over k tiles of a real frame climbs with k, so the false-positive
  rate set on validation images would no longer hold on large frames. Local edits are what face crops
  are for. (``combine_tile_scores(..., how="max")`` is there for those who want it anyway.)
Frames are never resized before scoring: resampling erases the high-frequency traces the detector
reads, so large frames are tiled instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FACE_MARGIN = 1.3
TILE = 256
MAX_SIDE = 512
MAX_TILES = 16


@dataclass(frozen=True)
class Region:
    """A crop of a frame: pixel box [x0, x1) x [y0, y1) and what it is ("face" | "image" | "tile")."""

    x0: int
    y0: int
    x1: int
    y1: int
    kind: str

    def crop(self, frame: np.ndarray) -> np.ndarray:
        return frame[self.y0:self.y1, self.x0:self.x1]


def face_box(face) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of a face given as a box (4,), landmarks (K, 2), a dict with "box" or
    "landmarks" (the faces stage's meta), or an object with a .box / .landmarks attribute."""
    if isinstance(face, dict):
        face = face.get("box") if face.get("box") is not None else face.get("landmarks")
    elif not isinstance(face, (np.ndarray, list, tuple)):
        box = getattr(face, "box", None)
        face = box if box is not None else getattr(face, "landmarks", None)
    if face is None:
        raise ValueError("a face needs a box or landmarks")
    a = np.asarray(face, dtype=np.float64)
    if a.shape == (4,):
        return tuple(float(v) for v in a)  # type: ignore[return-value]
    if a.ndim == 2 and a.shape[1] == 2 and len(a) >= 2:
        return float(a[:, 0].min()), float(a[:, 1].min()), float(a[:, 0].max()), float(a[:, 1].max())
    raise ValueError(f"a face box must be (x0, y0, x1, y1) or landmarks (K, 2), got shape {a.shape}")


def expand_box(box, frame_hw: tuple[int, int], margin: float = FACE_MARGIN) -> Region:
    """A square face region: side = margin x the box's longer side, same centre, clipped to the frame."""
    h, w = frame_hw
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    half = max(x1 - x0, y1 - y0, 1.0) * margin / 2.0
    rx0, ry0 = max(0, int(round(cx - half))), max(0, int(round(cy - half)))
    rx1, ry1 = min(w, int(round(cx + half))), min(h, int(round(cy + half)))
    if rx1 <= rx0 or ry1 <= ry0:
        raise ValueError(f"face box {box} lies outside the {w}x{h} frame")
    return Region(rx0, ry0, rx1, ry1, "face")


def _starts(length: int, tile: int) -> list[int]:
    if length <= tile:
        return [0]
    n = -(-length // tile)  # ceil
    return [int(round(i * (length - tile) / (n - 1))) for i in range(n)]


def tile_regions(frame_hw: tuple[int, int], tile: int = TILE, max_tiles: int = MAX_TILES) -> list[Region]:
    """Full-size tiles covering the frame (sides shorter than ``tile`` are taken whole), at most
    ``max_tiles`` of them, evenly spread over the grid when there are more."""
    h, w = frame_hw
    ys, xs = _starts(h, tile), _starts(w, tile)
    regions = [Region(x, y, min(x + tile, w), min(y + tile, h), "tile") for y in ys for x in xs]
    if len(regions) > max_tiles:
        keep = np.unique(np.round(np.linspace(0, len(regions) - 1, max_tiles)).astype(int))
        regions = [regions[i] for i in keep]
    return regions


def regions_for(frame_hw: tuple[int, int], faces=None, margin: float = FACE_MARGIN, tile: int = TILE,
                max_side: int = MAX_SIDE, max_tiles: int = MAX_TILES) -> list[Region]:
    """The regions to score in one frame: faces when any are given, else the whole image or its tiles."""
    h, w = frame_hw
    if faces:
        return [expand_box(face_box(f), frame_hw, margin) for f in faces]
    if h <= max_side and w <= max_side:
        return [Region(0, 0, w, h, "image")]
    return tile_regions(frame_hw, tile, max_tiles)


def combine_tile_scores(scores, how: str = "mean") -> float:
    if how not in ("mean", "max"):
        raise ValueError(f"how must be 'mean' or 'max', got {how!r}")
    s = np.asarray(scores, dtype=np.float64)
    return float(s.mean() if how == "mean" else s.max())


def frame_score(regions: list[Region], scores, tiles: str = "mean") -> float:
    """One frame's score from its regions' scores: max over faces, mean (or max) over tiles."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    if len(regions) != s.size or s.size == 0:
        raise ValueError(f"{len(regions)} regions but {s.size} scores")
    if any(r.kind == "face" for r in regions):
        return float(s.max())
    return combine_tile_scores(s, tiles)
