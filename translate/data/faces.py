"""Face-swap training data: aligned face crops (folders written by `translate faces extract`), augmented.

Each item gives, per identity, the ``target`` crop (random affine + flip, resized to the training size), the
``warped`` input (the target seen through a randomly perturbed 5x5 grid, the 2017 deepfakes "random warp")
and a face ``mask`` for the loss. Values are in [0, 1] (the face-swap decoder ends in sigmoid).

Masks: when an ``alignments.json`` beside the crops lists a crop (with its landmarks and matrix), the mask is
the "extended" landmark hull (face + forehead) of that crop, feathered; otherwise a fixed ellipse of the
aligned template (the mean face for the crop's centering) stands in. The augmentation moves the mask with
the crop. Like every dataset of translate.data.datasets, items are indexed by run-wide sample position and
all randomness comes from (seed, position), so a resumed run sees exactly the samples it would have seen.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from translate.data.datasets import PositionDataset, _load_or_neighbour
from translate.data.images import usable_images
from translate.data.sources import min_side
from translate.errors import UserError

FACE_RANGE = (0.0, 1.0)
ALIGNMENTS = "alignments.json"  # the name `faces extract` writes (translate.faces.extract.ALIGNMENTS)
CENTERINGS = ("legacy", "face", "head")  # translate.faces.align.CENTERINGS

# The fallback mask: an ellipse in mean-face units (the unit square of translate.faces.align's template),
# centre (0.49, 0.52), semi-axes 0.58 x 0.68: brows to chin (chin at y 1.13-1.21 on the two sample faces,
# jaw at x -0.11..1.09) plus the forehead, as the "extended" landmark mask covers it.
ELLIPSE_CENTRE = (0.49, 0.52)
ELLIPSE_AXES = (0.58, 0.68)


@dataclass
class Augment:
    """The original trainer's random_transform + random_warp (rotation 10 deg, zoom and shift 5 %, flip)."""

    rotation: float = 10.0
    zoom: float = 0.05
    shift: float = 0.05
    flip: bool = True
    warp: float = 0.04  # std of the grid points' displacement, as a fraction of the crop side


# ---------------------------------------------------------------------------------------------- folders


def read_folder_alignments(folder: str | Path) -> dict | None:
    """The alignments JSON beside a folder of crops, or None. A malformed file is a user error."""
    path = Path(folder) / ALIGNMENTS
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        data["frames"]  # noqa: B018 - shape check
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"{path} is not a valid alignments file ({e}): re-run `translate faces extract` or remove it") from None
    return data


def crop_landmarks(alignments: dict) -> dict[str, np.ndarray]:
    """crop file name -> its 68 landmarks in crop pixels of the extraction's crop size."""
    out = {}
    for frame in alignments.get("frames", []):
        for face in frame.get("faces", []):
            if not face.get("file") or "matrix" not in face:
                continue
            pts = np.asarray(face["landmarks"], np.float64)
            m = np.asarray(face["matrix"], np.float64)
            out[face["file"]] = pts @ m[:, :2].T + m[:, 2]
    return out


def resolve_centering(folders: list[str | None], explicit: str | None) -> tuple[str, str]:
    """The crops' centering and where it came from: the folders' alignments files, else ``explicit``, else face.

    Folders whose alignments disagree, or an explicit value that contradicts them, are refused.
    """
    found = {}
    for folder in folders:
        data = read_folder_alignments(folder) if folder else None
        if data and data.get("centering"):
            found[str(folder)] = data["centering"]
    values = set(found.values())
    if len(values) > 1:
        detail = ", ".join(f"{k}: {v}" for k, v in found.items())
        raise UserError(f"the face folders were extracted with different centerings ({detail}): extract both with the same --centering")
    if values:
        value = values.pop()
        if explicit and explicit != value:
            raise UserError(f"--centering {explicit} contradicts the alignments files ({value}); drop --centering")
        return value, "alignments.json"
    if explicit and explicit not in CENTERINGS:
        raise UserError(f"--centering {explicit}: use one of {', '.join(CENTERINGS)}")
    return explicit or "face", "option" if explicit else "default"


# ---------------------------------------------------------------------------------------------- masks


def ellipse_mask(size: int, centering: str, feather: float = 0.04) -> np.ndarray:
    """The fixed elliptical face mask of the aligned template, float32 (size, size) in [0, 1]."""
    from translate.faces.align import CENTERING_RATIO, CENTERING_SHIFT

    inner = size * (1.0 - CENTERING_RATIO[centering])
    pad = (size - inner) / 2.0
    cx = pad + ELLIPSE_CENTRE[0] * inner
    cy = pad + (ELLIPSE_CENTRE[1] + CENTERING_SHIFT[centering]) * inner
    mask = np.zeros((size, size), np.uint8)
    cv2.ellipse(mask, (int(round(cx * 16)), int(round(cy * 16))),
                (int(round(ELLIPSE_AXES[0] * inner * 16)), int(round(ELLIPSE_AXES[1] * inner * 16))),
                0, 0, 360, 255, -1, cv2.LINE_AA, 4)
    return _feather(mask, size, feather)


def landmark_mask(points: np.ndarray, size: int, feather: float = 0.04) -> np.ndarray:
    """The "extended" hull (face + forehead) of crop-space landmarks, not eroded, feathered."""
    from translate.faces.blend import face_mask

    return face_mask(points, size, "extended", erode=0.0, feather=feather)


def _feather(mask: np.ndarray, size: int, feather: float) -> np.ndarray:
    out = mask.astype(np.float32) / 255.0
    sigma = feather * size / 2.0
    return np.clip(cv2.GaussianBlur(out, (0, 0), sigma), 0.0, 1.0) if sigma > 0 else out


# ---------------------------------------------------------------------------------------------- augmentation


def random_affine(rng: np.random.Generator, size: int, aug: Augment) -> tuple[np.ndarray, bool]:
    """A 2x3 rotation/zoom/shift about the crop centre and whether to flip."""
    angle = rng.uniform(-aug.rotation, aug.rotation)
    scale = rng.uniform(1.0 - aug.zoom, 1.0 + aug.zoom)
    tx, ty = rng.uniform(-aug.shift, aug.shift, 2) * size
    m = cv2.getRotationMatrix2D((size / 2.0, size / 2.0), angle, scale)
    m[:, 2] += (tx, ty)
    return m, bool(aug.flip and rng.random() < 0.5)


def random_warp(img: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """``img`` seen through a perturbed 5x5 grid (smoothly interpolated), the 2017 trainer's warp.

    The displacement field is zero-mean noise added to the identity map, so the unwarped image is the
    target: the autoencoder learns to undo local distortions, not a shift.
    """
    size = img.shape[0]
    if strength <= 0:
        return img
    noise = rng.normal(0.0, strength * size, (2, 5, 5)).astype(np.float32)
    dx = cv2.resize(noise[0], (size, size), interpolation=cv2.INTER_LINEAR)
    dy = cv2.resize(noise[1], (size, size), interpolation=cv2.INTER_LINEAR)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    return cv2.remap(img, xs + dx, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    if img.shape[0] == size and img.shape[1] == size:
        return img
    interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(img, (size, size), interpolation=interp)


def augment_face(crop: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator,
                 aug: Augment) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(warped input, target, mask) at ``size`` px from a crop (any size) and its mask (at ``size``)."""
    target = _resize(crop, size)
    m, flip = random_affine(rng, size, aug)
    target = cv2.warpAffine(target, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    mask = cv2.warpAffine(mask, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if flip:
        target, mask = target[:, ::-1], mask[:, ::-1]
    target, mask = np.ascontiguousarray(target), np.ascontiguousarray(mask)
    return random_warp(target, rng, aug.warp), target, mask


def _tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float() / 255.0


# ---------------------------------------------------------------------------------------------- dataset


class FaceSide:
    """One identity's crops and, per crop, its mask source (landmarks from alignments.json, or the ellipse)."""

    def __init__(self, folder: str | Path, size: int, centering: str, what: str):
        self.folder = Path(folder)
        self.paths, self.check = usable_images(self.folder, min_side(size), min_side(size), what)
        self.size, self.centering = size, centering
        alignments = read_folder_alignments(self.folder)
        self.extract_size = int(alignments.get("size", 0)) if alignments else 0
        by_file = crop_landmarks(alignments) if alignments else {}
        self.landmarks = [by_file.get(p.relative_to(self.folder).as_posix()) for p in self.paths]
        self._ellipse = ellipse_mask(size, centering)

    @property
    def with_landmarks(self) -> int:
        return sum(p is not None for p in self.landmarks)

    def summary(self) -> str:
        n = self.with_landmarks
        masks = (f"landmark masks for {n}" + (f", template ellipse for {len(self.paths) - n}" if n < len(self.paths) else "")
                 if n else "template ellipse masks (no alignments.json)")
        return f"{self.check.summary()}; {masks}"

    def item(self, index: int, rng: np.random.Generator, aug: Augment) -> dict[str, torch.Tensor]:
        crop = _load_or_neighbour(self.paths, index)
        pts = self.landmarks[index]
        if pts is not None:
            # landmarks are in the extraction's crop pixels; the crop file may have been resized since
            scale = self.size / float(self.extract_size or crop.shape[1])
            mask = landmark_mask(pts * scale, self.size)
        else:
            mask = self._ellipse
        warped, target, mask = augment_face(crop, mask, self.size, rng, aug)
        return {"warped": _tensor(warped), "target": _tensor(target), "mask": torch.from_numpy(mask)[None]}


class FaceSwapDataset(PositionDataset):
    """Faces of A visited in shuffled order, faces of B drawn at random; epoch length max(|A|, |B|).

    Items: {"A", "A_target", "A_mask", "B", "B_target", "B_mask", "position"}; "A"/"B" are the warped inputs.
    """

    def __init__(self, a: FaceSide, b: FaceSide, seed: int, aug: Augment | None = None):
        self.a, self.b, self.seed, self.aug = a, b, seed, aug or Augment()

    def __len__(self) -> int:
        return max(len(self.a.paths), len(self.b.paths))

    def __getitem__(self, position: int) -> dict:
        i = self.file_index(position) % len(self.a.paths)
        j = int(np.random.default_rng([self.seed, position, 11]).integers(len(self.b.paths)))
        out: dict = {"position": position}
        for side, index, salt in (("A", i, 31), ("B", j, 32)):
            rng = np.random.default_rng([self.seed, position, salt])
            item = (self.a if side == "A" else self.b).item(index, rng, self.aug)
            out[side], out[f"{side}_target"], out[f"{side}_mask"] = item["warped"], item["target"], item["mask"]
        return out


def faceswap_dataset(a: str | None, b: str | None, size: int, centering: str | None, seed: int,
                     flip: bool = True) -> tuple[FaceSwapDataset, str]:
    """The dataset of --a/--b face folders and a summary line (which masks are used, which centering)."""
    if not (a and b):
        raise UserError("give --a and --b: folders of aligned face crops (from `translate faces extract`), one per identity")
    centering, source = resolve_centering([a, b], centering)
    side_a, side_b = FaceSide(a, size, centering, "A faces"), FaceSide(b, size, centering, "B faces")
    for side in (side_a, side_b):
        if side.paths and side.with_landmarks == 0 and read_folder_alignments(side.folder) is not None:
            print(f"warning: {side.folder / ALIGNMENTS} lists none of the crops by file name: using the ellipse mask",
                  file=sys.stderr)
    ds = FaceSwapDataset(side_a, side_b, seed, Augment(flip=flip))
    summary = (f"A: {side_a.summary()}; B: {side_b.summary()}; {size} px crops, centering {centering} ({source}), "
               "random warp + affine" + (" + flip" if flip else ""))
    return ds, summary
