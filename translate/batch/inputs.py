"""What `translate batch` works on: videos, images, folders of them and @list.txt files, each mapped to its output.

A folder's tree is mirrored under OUTDIR/<folder name>/ and a file goes to OUTDIR/<file name>, as in
`translate apply`. A video keeps its container when the writer can make it (else .mp4; .mkv for ffv1); an
image keeps its type when it can carry provenance tags (else .png). A named file that is missing becomes an
input with ``problem`` set (a failed job, the others still run); a missing list file or nothing at all to do
is a UserError.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from translate.data.images import IMAGE_EXTS
from translate.detect.run import VIDEO_EXTS, kind_of
from translate.errors import UserError
from translate.video.writer import CONTAINERS

IMAGE_OUTPUTS = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"}


@dataclass(frozen=True)
class BatchInput:
    source: Path
    output: Path
    kind: str  # "video" | "image"
    problem: str | None = None  # why this named input cannot be a job (it is recorded as failed)


def output_suffix(source: Path, kind: str, codec: str = "h264") -> str:
    suffix = source.suffix.lower()
    if kind == "image":
        return suffix if suffix in IMAGE_OUTPUTS else ".png"
    if codec == "ffv1":
        return ".mkv"
    return suffix if suffix in CONTAINERS else ".mp4"


def read_list_file(spec: str) -> list[str]:
    """Paths in a list file (one per line; blank lines and # comments ignored), relative to the file's folder."""
    path = Path(spec[1:]).expanduser()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise UserError(f"cannot read the list file {path}: {e.strerror or e}") from None
    base = path.resolve().parent
    items = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    return [str(p if (p := Path(item).expanduser()).is_absolute() else base / p) for item in items]


def _in_folder(folder: Path, out_dir: Path) -> list[Path]:
    """Images and videos under ``folder``, sorted, hidden files and anything under OUTDIR left out."""
    out = out_dir.resolve()
    found = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or any(part.startswith(".") for part in p.relative_to(folder).parts):
            continue
        if p.suffix.lower() not in IMAGE_EXTS | VIDEO_EXTS or out in p.resolve().parents:
            continue
        found.append(p)
    return found


def expand_inputs(inputs: list[str], out_dir: str | Path, codec: str = "h264") -> list[BatchInput]:
    """Every input file with its output path under ``out_dir`` (see the module's docstring)."""
    out_dir = Path(out_dir)
    items: list[str] = []
    for raw in inputs:
        items += read_list_file(raw) if str(raw).startswith("@") else [str(raw)]
    planned: list[BatchInput] = []
    for raw in items:
        src = Path(raw).expanduser()
        if src.is_dir():
            root = out_dir / src.resolve().name
            files = _in_folder(src, out_dir)
            if not files:
                planned.append(BatchInput(src, root, "video", f"{src} holds no images or videos"))
            for p in files:
                kind = kind_of(p)
                rel = p.relative_to(src)
                planned.append(BatchInput(p, root / rel.with_suffix(output_suffix(p, kind, codec)), kind))
        elif src.is_file():
            kind = kind_of(src)
            planned.append(BatchInput(src, out_dir / src.with_suffix(output_suffix(src, kind, codec)).name, kind))
        else:
            planned.append(BatchInput(src, out_dir / src.name, "video", f"{src}: no such file or folder"))
    if not planned:
        raise UserError("nothing to do: give videos, images, folders of them or @list.txt")
    _refuse_clashes(planned)
    return planned


def _refuse_clashes(planned: list[BatchInput]) -> None:
    seen: dict[Path, Path] = {}
    sources = {p.source.resolve() for p in planned}
    for item in planned:
        if item.problem:
            continue
        target = item.output.resolve()
        if target in sources:
            raise UserError(f"the output {item.output} would replace an input; choose another -o folder")
        if target in seen and seen[target] != item.source.resolve():
            raise UserError(f"{seen[target]} and {item.source} would both be written to {item.output}; "
                            "run them with separate -o folders")
        seen[target] = item.source.resolve()
