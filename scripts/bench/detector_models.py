"""Detector models side by side on the bundled detector's validation crops, through `translate detect`'s scorer.

    python scripts/bench/detector_models.py MODEL [MODEL ...] [--work runs/default-detector]

MODEL: a model file, a run folder or a manifest name (e.g. an older detector.safetensors from git against the
installed `detector`). The crops are those scripts/train_default_detector.py cut (work/crops); each is scored as
`translate detect` scores an image (Scorer.score_frames: small crops padded to the tile as in training). Prints
one JSON line per (model, validation set): the share of real crops over the model's `fake` threshold, and per
family (and all, and all but the degraded up-scales) the AUC against the real crops and the share flagged.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import detector_crops  # noqa: E402
from detector_data import FAMILIES  # noqa: E402

SETS = ("val-clean", "val-degraded", "val-h264")


def main() -> int:
    from translate.detect.scorer import Scorer
    from translate.eval.metrics import roc_auc

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "default-detector")
    args = ap.parse_args()
    index = json.loads((args.work / "crops" / "index.json").read_text())
    images = {r["path"]: r for r in json.loads((args.work / "data" / "index.json").read_text())["records"]}
    crops = {name: detector_crops.load(args.work, name, index) for name in SETS}
    for model in args.models:
        scorer = Scorer(model)
        for name in SETS:
            recs = index["sets"][name]
            s = np.asarray(scorer.score_frames(crops[name]))
            fam = np.array([r["family"] for r in recs])
            upscale = np.array(["lr" in images[r["image"]] for r in recs])  # detector_data.add_upscales
            real = s[fam == "real"]

            def figures(mask: np.ndarray) -> dict:
                fake = s[mask]
                auc = roc_auc(np.r_[np.zeros(real.size), np.ones(fake.size)], np.r_[real, fake])
                return {"auc": round(auc, 4), "flagged": round(float(np.mean(fake > scorer.threshold)), 4), "n": int(fake.size)}

            row = {f: figures(fam == f) for f in FAMILIES if np.any(fam == f)}
            row["all"] = figures(fam != "real")
            row["all_but_degraded_upscales"] = figures((fam != "real") & ~upscale)
            print(json.dumps({"bench": "detector_models", "model": str(model), "set": name, "n_real": int(real.size),
                              "real_flagged": round(float(np.mean(real > scorer.threshold)), 4), **row}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
