"""Write docs/faces.png for the README: before | after | mask, for the two real faces that ship offline.

Row 1: Grace Hopper's aligned face blended onto the astronaut photo; row 2: the other way round. No model is
involved: the other photo's aligned crop stands in for a translated crop, which shows the alignment, the
landmark mask, the colour correction (Reinhard, Lab) and the inverse warp of the faces pipeline.

    .venv/bin/python scripts/make_faces_figure.py [-o docs/faces.png]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import skimage.data

from translate.faces import align, blend
from translate.faces.landmarks import make_detector

SIZE = 256
HEIGHT = 300


def grace_hopper() -> np.ndarray:
    from matplotlib import cbook

    return cv2.cvtColor(cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))), cv2.COLOR_BGR2RGB)


def swap_row(det, target: np.ndarray, source: np.ndarray) -> np.ndarray:
    t_face, s_face = det.detect(target)[0], det.detect(source)[0]
    t_crop, t_m = align.align_face(target, t_face.landmarks, SIZE, "face")
    s_crop, _ = align.align_face(source, s_face.landmarks, SIZE, "face")
    after, mask = blend.blend_face(target, t_crop, s_crop, t_m, t_face.landmarks, mask="components",
                                   colour="reinhard", erode=0.03, feather=0.05)
    mask_frame = align.warp_back((mask * 255).astype(np.uint8), t_m, target.shape[:2])
    x0, y0, x1, y1 = t_face.box  # show the face's neighbourhood, not the whole photo
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2 - 0.1 * (y1 - y0), 1.2 * (x1 - x0)
    box = [int(max(0, cx - half)), int(max(0, cy - half)), int(cx + half), int(cy + half)]

    def view(img):
        img = img[box[1]:box[3], box[0]:box[2]]
        img = np.dstack([img] * 3) if img.ndim == 2 else img
        return cv2.resize(img, (HEIGHT, HEIGHT), interpolation=cv2.INTER_AREA)

    gap = np.full((HEIGHT, 6, 3), 255, np.uint8)
    return np.hstack([view(target), gap, view(after), gap, view(mask_frame)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--output", default="docs/faces.png")
    args = ap.parse_args()
    det = make_detector("auto")
    astronaut, hopper = skimage.data.astronaut(), grace_hopper()
    rows = [swap_row(det, astronaut, hopper), swap_row(det, hopper, astronaut)]
    figure = np.vstack([rows[0], np.full((6, rows[0].shape[1], 3), 255, np.uint8), rows[1]])
    labels = np.full((28, figure.shape[1], 3), 255, np.uint8)
    for i, text in enumerate(("before", f"after ({det.name} landmarks, Reinhard colour)", "mask")):
        cv2.putText(labels, text, (8 + i * (HEIGHT + 6), 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(np.vstack([labels, figure]), cv2.COLOR_RGB2BGR))
    print(out)


if __name__ == "__main__":
    main()
