"""Downloading named weight files: progress bar, sha256 check, atomic rename, and a fast, clear failure offline.

``find_weight_file`` (defined in translate.weights.manifest, re-exported here) is what loaders of third-party files
use before downloading anything.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import socket
import urllib.error
from pathlib import Path
from urllib.request import Request, urlopen

from translate.cleanup import remove_partial
from translate.errors import UserError, ensure_folder
from translate.progress import progress_bar
from translate.weights.manifest import (
    Entry,
    env_weights_dirs,
    find,
    find_weight_file,
    hub_checkpoints_dir,
    locate,
    names,
    user_cache_dir,
    verify,
)

__all__ = ["download_dir", "download_url", "fetch", "find_weight_file"]

TIMEOUT_S = 10.0
_CHUNK = 1 << 20


def _writable(d: Path) -> bool:
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(d, os.W_OK)


def download_dir(entry: Entry | None = None) -> Path:
    """Where downloads and imports go: the first writable of $TRANSLATE_WEIGHTS and the user cache folder
    (the torch hub checkpoints folder for entries marked hub, where their own loaders look)."""
    candidates = [hub_checkpoints_dir()] if entry is not None and entry.hub else [*env_weights_dirs(), user_cache_dir()]
    for d in candidates:
        if _writable(d):
            return d
    raise UserError(f"no writable weights folder among {', '.join(map(str, candidates))}; "
                    "set TRANSLATE_WEIGHTS to a folder you can write")


def download_url(url: str, dest: str | Path, sha256: str = "", sha256_prefix: str = "", timeout: float = TIMEOUT_S,
                 progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` (written as a temporary file, renamed when complete and checked).

    Any network failure raises at once (one attempt, ``timeout`` seconds per blocking read) a UserError naming
    the URL and where to put the file by hand.
    """
    dest = Path(dest)
    ensure_folder(dest.parent)
    tmp = dest.with_name(f".{dest.name}.part-{os.getpid()}")
    h = hashlib.sha256()
    try:
        with urlopen(Request(url, headers={"User-Agent": "translate"}), timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with open(tmp, "wb") as f, progress_bar(total, desc=dest.name, unit="B", quiet=not progress,
                                                    unit_scale=True, unit_divisor=1024) as bar:
                while chunk := response.read(_CHUNK):
                    f.write(chunk)
                    h.update(chunk)
                    bar.update(len(chunk))
            if total is not None and tmp.stat().st_size != total:
                raise http.client.IncompleteRead(b"", total - tmp.stat().st_size)
    except (urllib.error.URLError, http.client.HTTPException, socket.timeout, TimeoutError, ConnectionError, OSError) as e:
        remove_partial(tmp)
        reason = getattr(e, "reason", None) or e
        raise UserError(f"could not download {url} ({reason}); download it yourself and save it as {dest}") from None
    except BaseException:
        remove_partial(tmp)
        raise
    digest = h.hexdigest()
    expected = sha256 or sha256_prefix
    if expected and not digest.startswith(expected.lower()):
        remove_partial(tmp)
        raise UserError(f"{url} downloaded with sha256 {digest[:16]}..., expected {expected[:16]}...: the download is "
                        f"damaged or the file changed upstream; nothing was saved to {dest}")
    os.replace(tmp, dest)
    return dest


def fetch(name: str, verify_hash: bool = True, force: bool = False, timeout: float = TIMEOUT_S,
          progress: bool = True) -> Path:
    """The local file of manifest entry ``name``, downloaded first when absent (or when ``force``)."""
    entry = find(name)
    if entry is None:
        raise UserError(f"no model named {name!r}; known names: {', '.join(names()) or '(none)'}")
    present = locate(entry)
    if present is not None and not force:
        if verify_hash:
            verify(entry, present)
        return present
    dest = (present.parent if present is not None else download_dir(entry)) / entry.file
    if not entry.url:
        raise UserError(f"{entry.name} cannot be downloaded: it is made by {entry.source}; put {entry.file} in "
                        f"{download_dir(entry)} (or $TRANSLATE_WEIGHTS)")
    return download_url(entry.url, dest, sha256=entry.sha256 if verify_hash else "",
                        sha256_prefix=entry.sha256_prefix if verify_hash else "", timeout=timeout, progress=progress)
