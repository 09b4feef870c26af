"""Turn the user's --a/--b/--data options into checked lists of image files."""
from __future__ import annotations

from pathlib import Path

from translate.data.images import usable_images
from translate.errors import UserError


def min_side(size: int) -> int:
    """Images smaller than this cannot sensibly be scaled up to a training crop of ``size`` (4x at most)."""
    return max(8, size // 4)


def unpaired_folders(a: str | None, b: str | None, data: str | None) -> tuple[Path, Path]:
    """--a/--b, or --data ROOT holding trainA/ and trainB/ (the reference's layout)."""
    if a and b:
        return Path(a), Path(b)
    if data and not (a or b):
        root = Path(data)
        if not root.is_dir():
            raise UserError(f"--data folder {root} does not exist")
        if (root / "trainA").is_dir() and (root / "trainB").is_dir():
            return root / "trainA", root / "trainB"
        raise UserError(f"--data {root} must hold trainA/ and trainB/ folders; or give --a and --b")
    raise UserError("give both --a and --b (image folders), or --data ROOT with trainA/ and trainB/")


def unpaired_paths(a: str | None, b: str | None, data: str | None, size: int) -> tuple[list[Path], list[Path], str]:
    fa, fb = unpaired_folders(a, b, data)
    m = min_side(size)
    pa, ca = usable_images(fa, m, m, "A")
    pb, cb = usable_images(fb, m, m, "B")
    return pa, pb, f"A: {ca.summary()}; B: {cb.summary()}"


def paired_items(data: str | None, a: str | None, b: str | None, size: int) -> tuple[list, str]:
    """--data of A|B side-by-side images, or --a/--b folders paired by file name (stem)."""
    m = min_side(size)
    if data and not (a or b):
        paths, check = usable_images(data, 2 * m, m, "paired (A|B side by side)")
        return paths, check.summary()
    if a and b and not data:
        pa, ca = usable_images(a, m, m, "A")
        pb, cb = usable_images(b, m, m, "B")
        by_stem = {p.relative_to(b).with_suffix("").as_posix(): p for p in pb}
        pairs = [(p, by_stem[k]) for p in pa if (k := p.relative_to(a).with_suffix("").as_posix()) in by_stem]
        if not pairs:
            raise UserError(f"no file names match between {a} and {b}: paired folders need the same names (e.g. 001.png in both)")
        unmatched = len(pa) - len(pairs)
        return pairs, f"{len(pairs)} pairs ({unmatched} A images without a B partner skipped); A: {ca.summary()}; B: {cb.summary()}"
    raise UserError("give --data FOLDER of A|B side-by-side images, or both --a and --b folders paired by file name")
