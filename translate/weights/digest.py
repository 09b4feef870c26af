"""SHA-256 of a file, read in 1 MiB chunks: how weights, fetched wheels and batch outputs are identified.

Its own module so that the manifest, the fetcher and the batch ledger can hash files without importing torch
(model files are read by modelfile, which needs it)."""
from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
