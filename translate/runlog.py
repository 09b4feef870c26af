"""A run's human-facing outputs: log.jsonl, losses.png, samples/*.png and optional TensorBoard events."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from translate.errors import UserError


class RunLog:
    def __init__(self, run_dir: Path, tensorboard: bool = False):
        self.path = run_dir / "log.jsonl"
        self.run_dir = run_dir
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise UserError("--tensorboard needs the tensorboard package: pip install tensorboard") from None
            self.tb = SummaryWriter(str(run_dir / "tensorboard"))

    def truncate_after(self, step: int) -> None:
        """On resume, drop lines written after the checkpoint so the log matches the restored state."""
        if not self.path.exists():
            return
        kept = [line for line in self.path.read_text().splitlines() if line.strip() and json.loads(line).get("step", 0) <= step]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(line + "\n" for line in kept))
        os.replace(tmp, self.path)

    def write(self, records: list[dict]) -> None:
        with self.path.open("a") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
        if self.tb is not None:
            for r in records:
                for k, v in r.items():
                    if k not in ("step", "epoch", "time") and isinstance(v, (int, float)):
                        self.tb.add_scalar(k, v, r["step"])

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def plot(self) -> None:
        """losses.png: every logged loss against the step (smoothed when long)."""
        records = [r for r in self.read() if "step" in r]
        if not records:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        keys = [k for k in records[-1] if k not in ("step", "epoch", "time", "lr")]
        steps = np.array([r["step"] for r in records])
        fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
        for k in keys:
            y = np.array([r.get(k, np.nan) for r in records], dtype=float)
            w = max(1, len(y) // 100)
            if w > 1:
                y = np.convolve(y, np.ones(w) / w, mode="valid")
            ax.plot(steps[len(steps) - len(y):], y, label=k, linewidth=1)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.legend(fontsize=8, ncol=2)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        tmp = self.run_dir / ".losses.tmp.png"
        fig.savefig(tmp)
        plt.close(fig)
        os.replace(tmp, self.run_dir / "losses.png")

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def save_grid(path: Path, rows: list[torch.Tensor], value_range: tuple[float, float]) -> None:
    """One PNG: each row is a (k, 3, H, W) tensor; images of different sizes are centred in their cell."""
    from translate.data.transforms import to_uint8

    rows_u8 = [to_uint8(r, value_range) for r in rows]
    h = max(img.shape[0] for r in rows_u8 for img in r)
    w = max(img.shape[1] for r in rows_u8 for img in r)
    k = max(len(r) for r in rows_u8)
    pad = 2
    canvas = np.full((len(rows_u8) * (h + pad) + pad, k * (w + pad) + pad, 3), 255, np.uint8)
    for i, r in enumerate(rows_u8):
        for j, img in enumerate(r):
            y = pad + i * (h + pad) + (h - img.shape[0]) // 2
            x = pad + j * (w + pad) + (w - img.shape[1]) // 2
            canvas[y:y + img.shape[0], x:x + img.shape[1]] = img
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    Image.fromarray(canvas).save(tmp)
    os.replace(tmp, path)
