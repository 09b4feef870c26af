"""Download a standard CycleGAN or pix2pix dataset (as the reference's download scripts do).

    python scripts/download_dataset.py horse2zebra            # -> datasets/horse2zebra/{trainA,trainB,testA,testB}
    python scripts/download_dataset.py facades --out data/    # -> data/facades/{train,val,test} (A|B pairs)

Then: translate train cyclegan --data datasets/horse2zebra   or   translate train pix2pix --data datasets/facades/train
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

BASE = "http://efrosgans.eecs.berkeley.edu"
CYCLEGAN = ["apple2orange", "summer2winter_yosemite", "horse2zebra", "monet2photo", "cezanne2photo", "ukiyoe2photo",
            "vangogh2photo", "maps", "cityscapes", "facades", "iphone2dslr_flower", "mini", "mini_pix2pix", "mini_colorization"]
PIX2PIX = ["cityscapes", "night2day", "edges2handbags", "edges2shoes", "facades", "maps"]


def url_for(name: str, kind: str) -> str:
    if kind == "pix2pix":
        return f"{BASE}/pix2pix/datasets/{name}.tar.gz"
    return f"{BASE}/cyclegan/datasets/{name}.zip"


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract without letting member paths escape ``dest``."""
    dest = dest.resolve()
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():
                if not (dest / member).resolve().is_relative_to(dest):
                    raise SystemExit(f"error: unsafe path in archive: {member}")
            z.extractall(dest)
    else:
        with tarfile.open(archive) as t:
            t.extractall(dest, filter="data")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", choices=sorted(set(CYCLEGAN + PIX2PIX)))
    ap.add_argument("--kind", choices=["cyclegan", "pix2pix"], help="Which collection (default: cyclegan when it has the name).")
    ap.add_argument("--out", default="datasets", help="Parent folder (default: datasets/).")
    args = ap.parse_args()
    kind = args.kind or ("cyclegan" if args.name in CYCLEGAN else "pix2pix")
    out = Path(args.out)
    target = out / args.name
    if target.exists():
        print(f"error: {target} already exists; remove it or choose another --out", file=sys.stderr)
        return 1
    url = url_for(args.name, kind)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        archive = Path(tmp) / Path(url).name
        print(f"downloading {url}", file=sys.stderr)
        try:
            with urllib.request.urlopen(url, timeout=20) as r, open(archive, "wb") as f:
                total = int(r.headers.get("Content-Length") or 0)
                done = 0
                while chunk := r.read(1 << 20):
                    f.write(chunk)
                    done += len(chunk)
                    if total:
                        print(f"\r{done / total:6.1%} of {total / 1e6:.0f} MB", end="", file=sys.stderr)
            print(file=sys.stderr)
        except OSError as e:
            print(f"error: cannot download {url} ({e}); fetch it by hand and unpack it into {target}", file=sys.stderr)
            return 1
        staging = Path(tmp) / "x"
        safe_extract(archive, staging)
        inner = staging / args.name if (staging / args.name).is_dir() else staging
        shutil.move(str(inner), target)
    print(f"{target}: " + ", ".join(f"{p.name} {sum(1 for _ in p.iterdir())}" for p in sorted(target.iterdir()) if p.is_dir()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
