"""The Real-ESRGAN before/after figure of docs/README-sr-discogan.md (docs/realesrgan-x4plus-before-after.png).

    .venv/bin/python scripts/realesrgan_figure.py [--image ../shared/data/sr/realworld_lq/0014.jpg]

Takes a crop of one of Real-ESRGAN's own low-quality demo inputs (BSD-3-Clause, xinntao/Real-ESRGAN inputs/),
up-scales it x4 with the fetched `realesrgan-x4plus` and writes, side by side, the input enlarged by nearest
neighbour (left) and the model's output (right). Only the derived crop goes into docs/, never the source file.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "sr" / "realworld_lq"


def main() -> None:
    from translate.data.images import load_rgb
    from translate.infer import Translator

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", type=Path, default=SHARED / "0014.jpg")
    ap.add_argument("--box", type=int, nargs=4, default=(40, 30, 120, 110), metavar=("X0", "Y0", "X1", "Y1"),
                    help="crop of the input, in input pixels")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "realesrgan-x4plus-before-after.png")
    args = ap.parse_args()
    x0, y0, x1, y1 = args.box
    crop = np.ascontiguousarray(load_rgb(args.image)[y0:y1, x0:x1])
    up = Translator("realesrgan-x4plus", device="cpu", precision="fp32", batch_size=1)(crop[None])[0]
    before = np.asarray(Image.fromarray(crop).resize(up.shape[1::-1], Image.NEAREST))
    gap = np.full((up.shape[0], 8, 3), 255, np.uint8)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate([before, gap, up], 1)).save(args.out, optimize=True)
    print(f"{args.out}: {args.image.name} crop {x1 - x0}x{y1 - y0} at ({x0}, {y0}), nearest x4 | realesrgan-x4plus x4")


if __name__ == "__main__":
    main()
