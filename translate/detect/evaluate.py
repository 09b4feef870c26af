"""`translate eval detector`: AUC, AP and accuracy of a detect model on real and generated folders,
overall and per source folder.

Each folder given is a group; each of its first-level subfolders is a group of its own
(``fake/srgan``, ``fake/cyclegan`` ...), so one call gives a per-generator table. A generated group is
measured against *all* real files (AUC, AP, accuracy at the model's threshold, TPR = share flagged);
a real group reports its false-positive rate (share flagged). Scores are exactly those of
`translate detect` (videos aggregated over their sampled frames).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from translate.detect.run import FaceFinder, detect_files, expand_inputs
from translate.detect.scorer import Scorer
from translate.errors import UserError
from translate.eval.metrics import accuracy_at, average_precision, roc_auc


@dataclass
class GroupFigures:
    group: str
    label: int  # 0 real, 1 generated, -1 everything
    n: int
    flagged: float  # share above the threshold (FPR for reals, TPR for generated)
    auc: float | None = None
    ap: float | None = None
    accuracy: float | None = None


@dataclass
class Evaluation:
    threshold: float
    rows: list[GroupFigures] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, error)


def group_of(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    return f"{root.name}/{rel.parts[0]}" if len(rel.parts) > 1 else root.name


def score_folder(scorer: Scorer, folder: str | Path, every: int, faces: FaceFinder | None,
                 progress: bool) -> tuple[dict[str, list[float]], list[tuple[str, str]]]:
    root = Path(folder)
    if not root.is_dir():
        raise UserError(f"{root} is not a folder")
    results = detect_files(expand_inputs([root]), scorer, every, faces, progress)
    groups: dict[str, list[float]] = {}
    skipped = []
    for r in results:
        if r.error is not None:
            skipped.append((r.path, r.error))
            continue
        groups.setdefault(group_of(Path(r.path), root), []).append(r.score)
    return groups, skipped


def figures(group: str, label: int, real: np.ndarray, fake: np.ndarray, threshold: float) -> GroupFigures:
    own = fake if label == 1 else real if label == 0 else np.concatenate([real, fake])
    row = GroupFigures(group, label, int(own.size), float(np.mean(own > threshold)) if own.size else float("nan"))
    if label != 0 and real.size and fake.size:
        y = np.r_[np.zeros(real.size), np.ones(fake.size)]
        s = np.r_[real, fake]
        row.auc, row.ap, row.accuracy = roc_auc(y, s), average_precision(y, s), accuracy_at(y, s, threshold)
    return row


def evaluate(scorer: Scorer, real_dirs: list[str | Path], fake_dirs: list[str | Path], every: int = 1,
             faces: FaceFinder | None = None, progress: bool = False) -> Evaluation:
    ev = Evaluation(threshold=scorer.threshold)
    real_groups: dict[str, list[float]] = {}
    fake_groups: dict[str, list[float]] = {}
    for dirs, into in ((real_dirs, real_groups), (fake_dirs, fake_groups)):
        for d in dirs:
            groups, skipped = score_folder(scorer, d, every, faces, progress)
            for k, v in groups.items():
                into.setdefault(k, []).extend(v)
            ev.skipped += skipped
    real = np.array([s for v in real_groups.values() for s in v])
    fake = np.array([s for v in fake_groups.values() for s in v])
    if not real.size or not fake.size:
        raise UserError("nothing could be scored in the " + ("real" if not real.size else "generated") + " folders")
    for name, scores in sorted(real_groups.items()):
        ev.rows.append(figures(f"real: {name}", 0, np.array(scores), fake, ev.threshold))
    for name, scores in sorted(fake_groups.items()):
        ev.rows.append(figures(f"fake: {name}", 1, real, np.array(scores), ev.threshold))
    ev.rows.append(figures("all", -1, real, fake, ev.threshold))
    return ev


def format_evaluation(ev: Evaluation) -> str:
    header = ("group", "n", "AUC", "AP", "accuracy", "flagged")
    rows = [header]
    for r in ev.rows:
        f = (lambda v: "-" if v is None else f"{v:.4f}")
        rows.append((r.group, str(r.n), f(r.auc), f(r.ap), f(r.accuracy), f"{r.flagged:.3f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in rows]
    lines.append(f"threshold {ev.threshold:.4f}; flagged = share above it (false-positive rate for real groups, "
                 f"true-positive rate for generated ones); AUC/AP/accuracy of a generated group are against all real files")
    for path, err in ev.skipped:
        lines.append(f"skipped {path}: {err}")
    return "\n".join(lines)
