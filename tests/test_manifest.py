"""The model manifest: packaged entries, user manifests, weight folders, lookups and hashes."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from translate.errors import UserError
from translate.weights import manifest


@pytest.fixture
def dirs(isolated_weight_dirs):
    return isolated_weight_dirs


def write_manifest(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.toml").write_text(text)
    return folder / "manifest.toml"


def test_packaged_manifest_lists_the_third_party_files(dirs):
    by_name = {e.name: e for e in manifest.entries()}
    assert {"vgg19", "fan-2d", "s3fd"} <= set(by_name)
    fan, s3fd, vgg = by_name["fan-2d"], by_name["s3fd"], by_name["vgg19"]
    assert fan.url == "https://www.adrianbulat.com/downloads/python-fan/2DFAN4-11f355bf06.pth.tar"
    assert s3fd.url == "https://www.adrianbulat.com/downloads/python-fan/s3fd-619a316812.pth"
    assert vgg.url == "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
    assert fan.task == s3fd.task == "landmarks" and vgg.task == "features"
    assert all(e.unverified and not e.sha256 and e.hub for e in (fan, s3fd, vgg))
    assert vgg.sha256_prefix == "dcbb9e9d"  # torchvision checks this prefix of the file's sha256
    for e in by_name.values():  # a file from a wheel is checked by its member's sha256 and its recorded result
        assert e.licence and e.source and e.file and (e.sha256 or e.unverified or (e.wheel and e.member and e.convert))


def test_find_by_name_or_alias_case_insensitive(dirs):
    assert manifest.find("FAN").name == "fan-2d"
    assert manifest.find("sfd").name == "s3fd"
    assert manifest.find("no-such-model") is None
    assert "vgg19" in manifest.names(("features",)) and "vgg19" not in manifest.names(("sr",))


def test_weights_dirs_order_and_cache_location(dirs, monkeypatch):
    assert manifest.weights_dirs() == [dirs["env"], manifest.package_weights_dir(),
                                       dirs["cache"] / "translate" / "weights"]
    monkeypatch.delenv("TRANSLATE_WEIGHTS")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(dirs["env"].parent / "home"))
    assert manifest.weights_dirs() == [manifest.package_weights_dir(),
                                       dirs["env"].parent / "home" / ".cache" / "translate" / "weights"]


def test_user_manifest_adds_entries_and_duplicates_are_refused(dirs):
    write_manifest(dirs["env"], """
[models.my-sr]
aliases = ["mine"]
file = "my-sr.safetensors"
sha256 = "%s"
task = "sr"
source = "scripts/train_srgan.sh"
licence = "MIT"
""" % ("0" * 64))
    assert manifest.find("mine").task == "sr"
    write_manifest(dirs["cache"] / "translate" / "weights", """
[models.other]
aliases = ["my-sr"]
file = "x.safetensors"
unverified = true
task = "sr"
source = "x"
licence = "x"
""")
    with pytest.raises(UserError, match="'my-sr' is defined twice"):
        manifest.entries()


@pytest.mark.parametrize("block,message", [
    ('file = "a.safetensors"\ntask = "sr"\nsource = "s"\nlicence = "l"\n', "give its sha256, or mark it unverified"),
    ('file = "a.safetensors"\ntask = "video"\nsource = "s"\nlicence = "l"\nunverified = true\n', "task 'video'"),
    ('file = "a.safetensors"\ntask = "sr"\nlicence = "l"\nunverified = true\n', "missing source"),
    ('file = "sub/a.safetensors"\ntask = "sr"\nsource = "s"\nlicence = "l"\nunverified = true\n', "bare file name"),
    ('file = "a"\ntask = "sr"\nsource = "s"\nlicence = "l"\nsha256 = "abc"\n', "64 hex"),
    ('file = "a"\ntask = "sr"\nsource = "s"\nlicence = "l"\nunverified = true\nurl = "x"\n', "unknown keys url"),
])
def test_malformed_entries_name_the_file_and_the_problem(dirs, block, message):
    path = write_manifest(dirs["env"], "[models.bad]\n" + block)
    with pytest.raises(UserError, match=message) as e:
        manifest.entries()
    assert str(path) in str(e.value)


def test_locate_and_find_weight_file(dirs):
    entry = manifest.find("s3fd")
    assert manifest.locate(entry) is None and manifest.find_weight_file(entry.file) is None
    hub = dirs["torch"] / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / entry.file).write_bytes(b"weights")
    assert manifest.locate(entry) == hub / entry.file  # face-alignment's own folder counts
    dirs["env"].mkdir()
    (dirs["env"] / entry.file).write_bytes(b"weights")
    assert manifest.locate(entry) == dirs["env"] / entry.file  # $TRANSLATE_WEIGHTS first
    assert manifest.find_weight_file(entry.file) == dirs["env"] / entry.file


def test_verify_full_hash_prefix_and_unverified(tmp_path):
    f = tmp_path / "w.bin"
    f.write_bytes(b"abc")
    digest = hashlib.sha256(b"abc").hexdigest()
    full = manifest.Entry(name="a", file="w.bin", task="sr", source="s", licence="l", sha256=digest)
    assert manifest.verify(full, f) == digest and manifest.verify_status(full, f)[0] == "ok"
    wrong = manifest.Entry(name="a", file="w.bin", task="sr", source="s", licence="l", sha256="0" * 64)
    with pytest.raises(UserError, match="--no-verify"):
        manifest.verify(wrong, f)
    prefix = manifest.Entry(name="a", file="w.bin", task="sr", source="s", licence="l", unverified=True,
                            sha256_prefix=digest[:8])
    assert manifest.verify_status(prefix, f)[0] == "prefix ok"
    bad_prefix = manifest.Entry(name="a", file="w.bin", task="sr", source="s", licence="l", unverified=True,
                                sha256_prefix="00000000")
    assert manifest.verify_status(bad_prefix, f)[0] == "mismatch"
    loose = manifest.Entry(name="a", file="w.bin", task="sr", source="s", licence="l", unverified=True)
    assert manifest.verify_status(loose, f) == ("unverified", digest)


@pytest.mark.parametrize("env", [{"TORCH_HOME": "th"}, {"XDG_CACHE_HOME": "xdg"}, {}])
def test_hub_folder_is_torch_hubs_without_importing_torch(tmp_path, env):
    """`weights list` names the torch hub folder without loading torch (3 s), and names the same one torch does."""
    import json
    import os
    import subprocess
    import sys

    full = {k: v for k, v in os.environ.items() if k not in ("TORCH_HOME", "XDG_CACHE_HOME")}
    full |= {k: str(tmp_path / v) for k, v in env.items()} | {"HOME": str(tmp_path / "home")}
    code = ("import json, sys; from translate.weights.manifest import hub_checkpoints_dir as h; a = str(h()); "
            "loaded = 'torch' in sys.modules; import torch.hub; print(json.dumps([a, loaded, torch.hub.get_dir()]))")
    out = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, check=True).stdout
    ours, loaded, hub = json.loads(out)
    assert not loaded
    assert ours == str(Path(hub) / "checkpoints")
