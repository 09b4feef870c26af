"""Fetching named weight files: progress + sha256 check, atomic write, and a fast one-line failure offline."""
from __future__ import annotations

import hashlib
import io
import time
import urllib.error

import pytest

from translate.errors import UserError
from translate.weights import download, manifest


@pytest.fixture
def dirs(isolated_weight_dirs):
    return isolated_weight_dirs


class FakeResponse(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def serve(monkeypatch, data: bytes, calls: list):
    def fake_urlopen(request, timeout):
        calls.append((request.full_url, timeout))
        return FakeResponse(data)
    monkeypatch.setattr(download, "urlopen", fake_urlopen)


def add_entry(folder, sha256: str, url="https://example.org/files/tiny.bin"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.toml").write_text(f"""
[models.tiny]
file = "tiny.bin"
sha256 = "{sha256}"
task = "sr"
source = "{url}"
licence = "MIT"
""")


def test_offline_fetch_fails_fast_naming_url_and_destination(dirs, monkeypatch):
    def offline(request, timeout):
        assert timeout <= 10
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))
    monkeypatch.setattr(download, "urlopen", offline)
    start = time.monotonic()
    with pytest.raises(UserError) as e:
        download.fetch("fan-2d", progress=False)
    assert time.monotonic() - start < 2
    message = str(e.value)
    assert "https://www.adrianbulat.com/downloads/python-fan/2DFAN4-11f355bf06.pth.tar" in message
    dest = dirs["torch"] / "hub" / "checkpoints" / "2DFAN4-11f355bf06.pth.tar"  # where face-alignment looks
    assert str(dest) in message and "\n" not in message
    assert not list(dest.parent.iterdir())  # no partial file left


def test_fetch_downloads_checks_and_reuses(dirs, monkeypatch):
    data = b"tiny weights"
    add_entry(dirs["env"], hashlib.sha256(data).hexdigest())
    calls: list = []
    serve(monkeypatch, data, calls)
    path = download.fetch("tiny", progress=False)
    assert path == dirs["env"] / "tiny.bin" and path.read_bytes() == data
    assert calls == [("https://example.org/files/tiny.bin", download.TIMEOUT_S)]
    assert download.fetch("tiny", progress=False) == path and len(calls) == 1  # present: no download


def test_fetch_refuses_a_download_with_the_wrong_hash(dirs, monkeypatch):
    add_entry(dirs["env"], "0" * 64)
    serve(monkeypatch, b"something else", [])
    with pytest.raises(UserError, match="expected 0000"):
        download.fetch("tiny", progress=False)
    assert not (dirs["env"] / "tiny.bin").exists()
    assert [p.name for p in dirs["env"].iterdir()] == ["manifest.toml"]


def test_fetch_of_a_present_damaged_file_is_refused(dirs):
    add_entry(dirs["env"], "0" * 64)
    (dirs["env"] / "tiny.bin").write_bytes(b"damaged")
    with pytest.raises(UserError, match="--no-verify"):
        download.fetch("tiny", progress=False)
    assert download.fetch("tiny", verify_hash=False, progress=False) == dirs["env"] / "tiny.bin"


def test_unknown_name_and_entries_without_url(dirs):
    with pytest.raises(UserError, match="known names: .*vgg19"):
        download.fetch("nope")
    add_entry(dirs["env"], "0" * 64, url="scripts/train_srgan.sh")
    with pytest.raises(UserError, match="made by scripts/train_srgan.sh"):
        download.fetch("tiny")


def test_download_dir_prefers_env_then_cache(dirs, monkeypatch):
    assert download.download_dir() == dirs["env"]
    monkeypatch.delenv("TRANSLATE_WEIGHTS")
    assert download.download_dir() == dirs["cache"] / "translate" / "weights"
    assert download.download_dir(manifest.find("vgg19")) == dirs["torch"] / "hub" / "checkpoints"
    assert download.find_weight_file is manifest.find_weight_file
