"""The crops the bundled detector is trained, calibrated and measured on (scripts/train_default_detector.py).

From work/data (scripts/detector_data.py) it writes work/crops/<set>/<n>.png and work/crops/index.json:

    train         one view of every training image, degraded, then cut as `translate detect` cuts
                  a frame: the whole image when it fits in one ``tile``, else a random ``tile`` crop, plus
                  the 1.3x box of each face
    val-clean     validation images, no degradation: up to two tiles (real) or one (generated) spread over
                  the image (the scorer's tile grid, regions_for) plus each face; two for reals because the
                  thresholds are set on them (>= 500 crops)
    val-degraded  the same regions of one degraded copy of each validation image
    val-h264      the same regions after an h264 crf 28 round trip (the leave-one-family-out target)

Degradations are the issue's, identical for both classes: resize 0.5-1x (area), Gaussian blur, then JPEG
quality 30-100 or h264 crf 18-35. They are applied to the whole image before cutting, as an upload or a
re-encoded video frame would be. Randomness is a pure function of (seed, image index, view).
"""
from __future__ import annotations

import json
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
from PIL import Image

TILE = 224  # CLIP's input: tiles reach the encoder at their own resolution (EfficientNet takes them as they are)
VAL_TILES = {0: 2, 1: 1}  # per label
TRAIN_VIEWS = 1  # CLIP embeds ~2-3 crops/s on this CPU: one view per image keeps the whole set under an hour
P_RESIZE, P_BLUR, P_H264, P_JPEG = 0.5, 0.25, 0.25, 0.6  # P_JPEG: of the images not sent through h264


def degrade(img: np.ndarray, faces: list, rng: np.random.Generator) -> tuple[np.ndarray, list]:
    """One random degradation of a whole image; face boxes follow the resize."""
    from translate.detect.data import h264_roundtrip

    faces = [np.asarray(b, np.float64) for b in faces]
    if rng.uniform() < P_RESIZE:
        f = float(rng.uniform(0.5, 1.0))
        h, w = img.shape[:2]
        nw, nh = max(16, round(w * f)), max(16, round(h * f))
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
        faces = [b * np.array([nw / w, nh / h, nw / w, nh / h]) for b in faces]
    if rng.uniform() < P_BLUR:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.2, 2.0)))
    u = rng.uniform()
    if u < P_H264:
        img = h264_roundtrip(img, int(rng.integers(18, 36)))
    elif u < P_H264 + (1 - P_H264) * P_JPEG:
        q = int(rng.integers(30, 101))
        img = A.ImageCompression(quality_range=(q, q), p=1.0)(image=img)["image"]
    return np.ascontiguousarray(img), faces


def cut(img: np.ndarray, faces: list, rng: np.random.Generator | None, tiles: int = 1) -> list[tuple[np.ndarray, str]]:
    """(crop, kind) as the scorer cuts a frame: whole when it fits one tile, else tiles (random one when
    ``rng`` is given, else up to ``tiles`` spread ones); plus each face's 1.3x box."""
    from translate.detect.crops import expand_box, regions_for

    h, w = img.shape[:2]
    if h <= TILE and w <= TILE:
        out = [(img, "image")]
    elif rng is not None:
        th, tw = min(TILE, h), min(TILE, w)
        y, x = int(rng.integers(0, h - th + 1)), int(rng.integers(0, w - tw + 1))
        out = [(img[y:y + th, x:x + tw], "tile")]
    else:
        out = [(r.crop(img), "tile") for r in regions_for((h, w), None, tile=TILE, max_side=TILE, max_tiles=tiles)]
    for b in faces:
        try:
            r = expand_box(b, (h, w))
        except ValueError:
            continue
        if min(r.y1 - r.y0, r.x1 - r.x0) >= 16:
            out.append((r.crop(img), "face"))
    return [(np.ascontiguousarray(c), k) for c, k in out]


def build(work: Path, seed: int = 0) -> dict:
    """Write the crop sets once; returns the index {"sets": {name: [record, ...]}} (record: path, label, ...).
    Images added to the data later (detector_data.add_upscales) get their crops appended; the crops of an
    image depend only on (seed, its place in the data index), so the earlier ones stay as they were."""
    from translate.detect.data import h264_roundtrip

    root = work / "crops"
    index_path = root / "index.json"
    data = work / "data"
    records = json.loads((data / "index.json").read_text())["records"]
    sets: dict[str, list] = {"train": [], "val-clean": [], "val-degraded": [], "val-h264": []}
    if index_path.exists():
        sets = json.loads(index_path.read_text())["sets"]
    done = {r["image"] for recs in sets.values() for r in recs}
    todo = [(i, rec) for i, rec in enumerate(records) if rec["path"] not in done]
    if not todo:
        return json.loads(index_path.read_text())

    def add(name: str, crop: np.ndarray, rec: dict, kind: str) -> None:
        rel = Path(name) / f"{len(sets[name]):06d}.png"
        (root / name).mkdir(parents=True, exist_ok=True)
        Image.fromarray(crop).save(root / rel)
        sets[name].append({"path": str(rel), "label": rec["label"], "family": rec["family"], "model": rec["model"],
                           "source": rec["source"], "kind": kind, "image": rec["path"]})

    for i, rec in todo:
        img = np.asarray(Image.open(data / rec["path"]).convert("RGB"))
        faces = rec.get("faces", [])
        if rec["side"] == "train":
            for view in range(TRAIN_VIEWS):
                rng = np.random.default_rng([seed, i, view])
                d, f = degrade(img, faces, rng)
                for crop, kind in cut(d, f, rng):
                    add("train", crop, rec, kind)
        else:
            tiles = VAL_TILES[rec["label"]]
            for crop, kind in cut(img, faces, None, tiles):
                add("val-clean", crop, rec, kind)
            d, f = degrade(img, faces, np.random.default_rng([seed, i, 99]))
            for crop, kind in cut(d, f, None, tiles):
                add("val-degraded", crop, rec, kind)
            for crop, kind in cut(h264_roundtrip(img, 28), faces, None, tiles):
                add("val-h264", crop, rec, kind)
        if i % 200 == 0:
            print(f"crops: {i + 1}/{len(records)} images", flush=True)
    index = {"sets": sets, "tile": TILE, "val_tiles": {"real": VAL_TILES[0], "generated": VAL_TILES[1]},
             "train_views": TRAIN_VIEWS, "seed": seed}
    tmp = index_path.with_name(".index.partial.json")
    tmp.write_text(json.dumps(index))
    tmp.replace(index_path)
    return index


def load(work: Path, name: str, index: dict) -> list[np.ndarray]:
    return [np.asarray(Image.open(work / "crops" / r["path"]).convert("RGB")) for r in index["sets"][name]]
