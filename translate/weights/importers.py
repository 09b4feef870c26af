"""Importing foreign checkpoints into self-describing model files, safely.

Supported sources:
- pytorch-CycleGAN-and-pix2pix generators (``latest_net_G_A.pth``, ``*_net_G.pth``): plain state dicts with
  ``model.`` keys (``module.``-prefixed when saved from DataParallel). The architecture (resnet: blocks, ngf,
  norm, dropout; unet: depth, ngf, norm) is inferred from the keys and shapes; flags may state it, and a flag
  that contradicts the file is refused. U-Net dropout leaves no trace in the keys: it is a flag (default on).
- BasicSR / Real-ESRGAN files: ``{"params_ema": ...}`` (preferred) or ``{"params": ...}`` of MSRResNet,
  RRDBNet or SRVGGNetCompact, sizes inferred from the keys.

Foreign files are read only with ``torch.load(weights_only=True)``: a pickle that would build arbitrary
objects (and so could run code) is refused before anything in it runs.
"""
from __future__ import annotations

import math
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open

from translate.errors import UserError
from translate.weights.digest import file_sha256
from translate.weights.modelfile import (
    INFERENCE_MODES,
    ModelInfo,
    save_model,
)

REFERENCE_TOOL = "pytorch-CycleGAN-and-pix2pix"
BASICSR_TOOL = "BasicSR"
DIRECTIONS = ("AtoB", "BtoA")
# Flags a user may give; each maps to the constructor argument of the arch family it applies to.
FLAGS = ("ngf", "norm", "n_blocks", "use_dropout", "scale", "act_type", "input_nc", "output_nc")
_FIXED_RESNETS = {9: "resnet_9blocks", 6: "resnet_6blocks"}
_FIXED_UNETS = {8: "unet_256", 7: "unet_128", 6: "unet_64", 5: "unet_32"}
_CLI_NAMES = {"ngf": "--ngf", "norm": "--norm", "n_blocks": "--n-blocks", "use_dropout": "--dropout/--no-dropout",
              "scale": "--scale", "act_type": "--act", "input_nc": "input channels", "output_nc": "output channels",
              "arch": "--arch"}


@dataclass
class ImportPlan:
    """What a foreign checkpoint holds and how it will be rebuilt."""

    tool: str  # REFERENCE_TOOL or BASICSR_TOOL
    arch: str  # registry name in translate.nets
    kwargs: dict  # constructor arguments (build_net fills in the rest)
    state: dict[str, torch.Tensor]  # keys as the net expects them
    task: str
    value_range: list[float]
    notes: list[str] = field(default_factory=list)


# --- reading, safely ---


def read_checkpoint(src: str | Path) -> dict:
    """The dict stored in a foreign .pth/.pt/.ckpt (weights_only) or a plain .safetensors file."""
    src = Path(src)
    if not src.is_file():
        raise UserError(f"no such file: {src}")
    if src.suffix == ".safetensors":
        return _read_safetensors(src)
    try:
        obj = torch.load(src, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(e))
        if found is None:
            raise UserError(f"cannot read {src} as a PyTorch checkpoint ({_unpickler_reason(e)}); is the file "
                            "complete?") from None
        raise UserError(f"refused to load {src}: besides tensors it holds {found.group(1)}, a Python object that could "
                        "run code when loaded; nothing was run. Only plain state dicts are imported: re-save the "
                        "weights alone (torch.save(net.state_dict(), ...)) where you trust the code") from None
    except (RuntimeError, EOFError, OSError, ValueError, AttributeError, ImportError, KeyError) as e:
        raise UserError(f"cannot read {src} as a PyTorch checkpoint ({type(e).__name__}: {str(e)[:160]}); "
                        "is the file complete?") from None
    if not isinstance(obj, dict):
        raise UserError(f"{src} holds a {type(obj).__name__}, not a state dict; only state dicts can be imported")
    return obj


def _unpickler_reason(e: Exception) -> str:
    found = re.search(r"WeightsUnpickler error:\s*(.+)", str(e))
    return (found.group(1) if found else str(e).strip().splitlines()[0])[:160]


def _read_safetensors(src: Path) -> dict:
    try:
        with safe_open(str(src), framework="pt") as f:
            meta = f.metadata() or {}
        if "translate" in meta:
            raise UserError(f"{src} is already a translate model file; use it directly (--model {src})")
        return load_file(str(src), device="cpu")
    except (SafetensorError, OSError) as e:
        raise UserError(f"cannot read {src} as safetensors ({e})") from None


def extract_state_dict(obj: dict, src: str | Path = "checkpoint") -> tuple[dict[str, torch.Tensor], str]:
    """(state dict, where it came from): BasicSR's params_ema / params, else the dict itself."""
    where = "state dict"
    for key in ("params_ema", "params", "state_dict"):
        if isinstance(obj.get(key), dict):
            obj, where = obj[key], key
            break
    tensors = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
    if not tensors:
        top = ", ".join(map(str, list(obj)[:6]))
        raise UserError(f"{src} holds no tensors (top-level keys: {top}); expected a generator's state dict or a "
                        "BasicSR file with params_ema/params")
    if all(k.startswith("module.") for k in tensors):  # saved from DataParallel
        tensors = {k[len("module."):]: v for k, v in tensors.items()}
    return tensors, where


def drop_untracked_norm_stats(sd: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], int]:
    """Drop running_mean/var/num_batches_tracked of norms without affine weights (old InstanceNorm files)."""
    stats = ("running_mean", "running_var", "num_batches_tracked")
    drop = [k for k in sd if k.rsplit(".", 1)[-1] in stats and f"{k.rsplit('.', 1)[0]}.weight" not in sd]
    return {k: v for k, v in sd.items() if k not in drop}, len(drop)


# --- recognising and sizing architectures ---


def plan_import(src: str | Path, arch: str | None = None, **flags) -> ImportPlan:
    """Read ``src`` and work out its architecture; flags (see FLAGS) state or check what is inferred."""
    unknown = sorted(set(flags) - set(FLAGS))
    if unknown:
        raise UserError(f"unknown import option(s) {', '.join(unknown)}; valid: {', '.join(FLAGS)}")
    flags = {k: v for k, v in flags.items() if v is not None}
    sd, where = extract_state_dict(read_checkpoint(src), src)
    family = detect_family(sd)
    if family is None:
        raise UserError(_unrecognised(src, sd))
    if arch is not None:
        _check_arch_family(arch, family)
    plan = {"resnet": _plan_resnet, "unet": _plan_unet, "msrresnet": _plan_msrresnet, "rrdbnet": _plan_rrdbnet,
            "srvgg": _plan_srvgg}[family](sd, arch, dict(flags))
    if where in ("params_ema", "params"):
        plan.notes.insert(0, f"weights from {where}")
    return plan


def detect_family(sd: dict[str, torch.Tensor]) -> str | None:
    """"resnet", "unet", "msrresnet", "rrdbnet", "srvgg", or None."""
    if "model.model.0.weight" in sd:
        return "unet"
    w = sd.get("model.1.weight")  # the reference ResnetGenerator's first conv7 (a discriminator has none there)
    if w is not None and w.ndim == 4 and w.shape[-1] == 7:
        return "resnet"
    if "conv_first.weight" in sd and "body.0.rdb1.conv1.weight" in sd:
        return "rrdbnet"
    if "conv_first.weight" in sd and "upconv1.weight" in sd:
        return "msrresnet"
    if "body.0.weight" in sd and "conv_first.weight" not in sd:
        return "srvgg"
    return None


def _unrecognised(src: str | Path, sd: dict[str, torch.Tensor]) -> str:
    keys = list(sd)
    w = sd.get("model.0.weight")
    if w is not None and w.ndim == 4 and w.shape[-1] == 4:
        return (f"{src} looks like a discriminator (net_D); import the generator file (*_net_G.pth, *_net_G_A.pth or "
                "*_net_G_B.pth)")
    return (f"{src} is not a network this can import (first keys: {', '.join(keys[:4])}); supported: "
            f"{REFERENCE_TOOL} generators (resnet/unet) and {BASICSR_TOOL}/Real-ESRGAN MSRResNet, RRDBNet, "
            "SRVGGNetCompact")


def _family_of(arch: str) -> str | None:
    if arch.startswith("resnet"):
        return "resnet"
    if arch.startswith("unet"):
        return "unet"
    return arch if arch in ("msrresnet", "rrdbnet", "srvgg") else None


def _check_arch_family(arch: str, family: str) -> None:
    wanted = _family_of(arch)
    valid = ["resnet", *(_FIXED_RESNETS.values()), "unet", *(_FIXED_UNETS.values()), "msrresnet", "rrdbnet", "srvgg"]
    if wanted is None or (wanted in ("resnet", "unet") and arch not in valid):
        raise UserError(f"--arch {arch} cannot be imported; valid: {', '.join(valid)}")
    if wanted != family:
        raise UserError(f"--arch {arch} contradicts the file, which holds a {family} network; drop --arch")


def _agree(flags: dict, inferred: dict) -> None:
    """Refuse a flag whose value differs from what the file shows."""
    for key, value in inferred.items():
        if key in flags and flags[key] != value:
            given = flags[key]
            shown = {True: "on", False: "off"}.get(value, value) if key == "use_dropout" else value
            given_s = {True: "on", False: "off"}.get(given, given) if key == "use_dropout" else given
            raise UserError(f"{_CLI_NAMES.get(key, key)} {given_s} contradicts the file, which has {key} = {shown}; "
                            "drop the flag")


def _reject(flags: dict, keys: tuple[str, ...], family: str) -> None:
    bad = [k for k in keys if k in flags]
    if bad:
        raise UserError(f"{', '.join(_CLI_NAMES[k] for k in bad)} do(es) not apply to {family} networks; drop it")


def _indexed(sd: dict, pattern: str) -> list[int]:
    rx = re.compile(pattern)
    return sorted({int(m.group(1)) for k in sd if (m := rx.match(k))})


def _norm_of(sd: dict, norm_key: str, bias_key: str) -> str:
    if f"{norm_key}.weight" in sd:
        return "batch"
    return "instance" if bias_key in sd else "none"


def _reference_plan(sd: dict, arch: str, kwargs: dict, notes: list[str]) -> ImportPlan:
    return ImportPlan(tool=REFERENCE_TOOL, arch=arch, kwargs=kwargs, state=sd, task="translate",
                      value_range=[-1.0, 1.0], notes=notes)


def _plan_resnet(sd: dict, arch: str | None, flags: dict) -> ImportPlan:
    _reject(flags, ("scale", "act_type"), "resnet")
    sd, dropped = drop_untracked_norm_stats(sd)
    first = sd["model.1.weight"]
    blocks = _indexed(sd, r"model\.(\d+)\.conv_block\.")
    n = len(blocks)
    if blocks and blocks != list(range(10, 10 + n)):
        raise UserError("the residual blocks of this resnet are not where the reference puts them; it is not a "
                        f"{REFERENCE_TOOL} ResnetGenerator")
    if blocks and f"model.{blocks[0]}.conv_block.1.weight" not in sd:
        raise UserError("this resnet uses zero padding in its blocks, which the reference tool never trains; "
                        "cannot import it")
    last = sd.get(f"model.{17 + n}.weight")
    if last is None:
        raise UserError(f"the last layer of this resnet is missing (model.{17 + n}.weight); the file is damaged or "
                        "not a reference ResnetGenerator")
    inferred = {
        "input_nc": int(first.shape[1]),
        "output_nc": int(last.shape[0]),
        "ngf": int(first.shape[0]),
        "norm": _norm_of(sd, "model.2", "model.1.bias"),
        "n_blocks": n,
        # dropout shifts the second conv of each block from conv_block.5 to conv_block.6
        "use_dropout": bool(blocks) and f"model.{blocks[0]}.conv_block.5.weight" not in sd,
    }
    if arch in ("resnet_9blocks", "resnet_6blocks"):
        fixed = 9 if arch == "resnet_9blocks" else 6
        if n != fixed:
            raise UserError(f"--arch {arch} contradicts the file, which has {n} residual blocks; "
                            f"use --arch {_FIXED_RESNETS.get(n, 'resnet')}")
    _agree(flags, inferred)
    chosen = arch if arch in _FIXED_RESNETS.values() else (_FIXED_RESNETS.get(n, "resnet") if arch is None else "resnet")
    kwargs = dict(inferred)
    if chosen != "resnet":
        kwargs.pop("n_blocks")
    notes = [f"dropped {dropped} running-statistics keys of InstanceNorm layers (older PyTorch)"] if dropped else []
    return _reference_plan(sd, chosen, kwargs, notes)


def _plan_unet(sd: dict, arch: str | None, flags: dict) -> ImportPlan:
    _reject(flags, ("scale", "act_type", "n_blocks"), "unet")
    sd, dropped = drop_untracked_norm_stats(sd)
    first = sd["model.model.0.weight"]
    up = sd.get("model.model.3.weight")
    if up is None:
        raise UserError("the outermost up-sampling layer of this unet is missing (model.model.3.weight); the file is "
                        "damaged or not a reference UnetGenerator")
    depth, p = 1, "model.model.1"
    while f"{p}.model.3.model.1.weight" in sd:  # a middle level: its submodule (index 3) has a down conv
        depth, p = depth + 1, f"{p}.model.3"
    depth += 1  # the innermost level
    inferred = {
        "input_nc": int(first.shape[1]),
        "output_nc": int(up.shape[1]),
        "ngf": int(first.shape[0]),
        "norm": _norm_of(sd, "model.model.1.model.2", "model.model.0.bias"),
        "num_downs": depth,
    }
    if arch in _FIXED_UNETS.values():
        fixed = {v: k for k, v in _FIXED_UNETS.items()}[arch]
        if depth != fixed:
            raise UserError(f"--arch {arch} contradicts the file, which has {depth} levels; "
                            f"use --arch {_FIXED_UNETS.get(depth, 'unet')}")
    _agree(flags, inferred)
    kwargs = dict(inferred, use_dropout=bool(flags.get("use_dropout", True)))
    chosen = arch if arch in _FIXED_UNETS.values() else (_FIXED_UNETS.get(depth, "unet") if arch is None else "unet")
    if chosen != "unet":
        kwargs.pop("num_downs")
    notes = [f"dropped {dropped} running-statistics keys of InstanceNorm layers (older PyTorch)"] if dropped else []
    if "use_dropout" not in flags:
        notes.append("dropout is not visible in the weights: assumed on (pix2pix); say --no-dropout if it was trained "
                     "without (matters only with --mode reference-test)")
    return _reference_plan(sd, chosen, kwargs, notes)


def _basicsr_plan(sd: dict, arch: str, kwargs: dict, notes: list[str] | None = None) -> ImportPlan:
    return ImportPlan(tool=BASICSR_TOOL, arch=arch, kwargs=kwargs, state=sd, task="sr", value_range=[0.0, 1.0],
                      notes=notes or [])


def _sr_flags(flags: dict, family: str) -> None:
    """Refuse the flags that have no meaning for BasicSR nets."""
    _reject(flags, ("norm", "use_dropout") + (("act_type",) if family != "srvgg" else ()), family)


def _plan_msrresnet(sd: dict, arch: str | None, flags: dict) -> ImportPlan:
    _sr_flags(flags, "msrresnet")
    first = sd["conv_first.weight"]
    num_feat = int(first.shape[0])
    up = sd["upconv1.weight"].shape[0] // num_feat
    scale = 4 if "upconv2.weight" in sd else {4: 2, 9: 3}.get(int(up))
    if scale is None:
        raise UserError(f"cannot tell the scale of this MSRResNet (upconv1 has {sd['upconv1.weight'].shape[0]} "
                        "channels)")
    inferred = {"input_nc": int(first.shape[1]), "output_nc": int(sd["conv_last.weight"].shape[0]), "ngf": num_feat,
                "n_blocks": len(_indexed(sd, r"body\.(\d+)\.")), "scale": scale}
    _agree(flags, inferred)
    return _basicsr_plan(sd, "msrresnet", {"num_in_ch": inferred["input_nc"], "num_out_ch": inferred["output_nc"],
                                           "num_feat": num_feat, "num_block": inferred["n_blocks"], "upscale": scale})


def _plan_rrdbnet(sd: dict, arch: str | None, flags: dict) -> ImportPlan:
    _sr_flags(flags, "rrdbnet")
    first = sd["conv_first.weight"]
    in_first, out_ch = int(first.shape[1]), int(sd["conv_last.weight"].shape[0])
    # scale 2 / 1 pixel-unshuffle the input by 2 / 4 first: conv_first sees 4x / 16x the channels.
    if "scale" in flags:
        unshuffle = {4: 1, 2: 2, 1: 4}.get(flags["scale"])
        if unshuffle is None or in_first % unshuffle**2:
            raise UserError(f"--scale {flags['scale']} contradicts the file (conv_first takes {in_first} channels); "
                            "RRDBNet scales are 1, 2 or 4")
        scale = flags["scale"]
    else:
        scale = {1: 4, 4: 2, 16: 1}.get(in_first // out_ch) if in_first % out_ch == 0 else None
        if scale is None:
            raise UserError(f"cannot tell the scale of this RRDBNet (conv_first takes {in_first} channels, output "
                            f"{out_ch}); give --scale")
    num_in = in_first // ({4: 1, 2: 2, 1: 4}[scale] ** 2)
    inferred = {"input_nc": num_in, "output_nc": out_ch, "ngf": int(first.shape[0]),
                "n_blocks": len(_indexed(sd, r"body\.(\d+)\.")), "scale": scale}
    _agree(flags, inferred)
    return _basicsr_plan(sd, "rrdbnet", {"num_in_ch": num_in, "num_out_ch": out_ch, "scale": scale,
                                         "num_feat": inferred["ngf"], "num_block": inferred["n_blocks"],
                                         "num_grow_ch": int(sd["body.0.rdb1.conv1.weight"].shape[0])})


def _plan_srvgg(sd: dict, arch: str | None, flags: dict) -> ImportPlan:
    _sr_flags(flags, "srvgg")
    convs = [i for i in _indexed(sd, r"body\.(\d+)\.weight$") if sd[f"body.{i}.weight"].ndim == 4]
    first, last_i = sd["body.0.weight"], convs[-1]
    last = sd[f"body.{last_i}.weight"]
    num_in = int(first.shape[1])
    out_ch = int(flags.get("output_nc", num_in))  # the last conv gives num_out_ch * upscale**2 channels
    up = math.isqrt(int(last.shape[0]) // out_ch) if last.shape[0] % out_ch == 0 else 0
    if up < 1 or up * up * out_ch != last.shape[0]:
        raise UserError(f"cannot tell the scale of this SRVGGNetCompact (last conv gives {last.shape[0]} channels)")
    if "body.1.weight" in sd:
        act = "prelu"
    elif "act_type" in flags:
        act = flags["act_type"]
    else:
        raise UserError("the activations of this SRVGGNetCompact have no weights (relu or leakyrelu): say --act relu "
                        "or --act leakyrelu")
    inferred = {"input_nc": num_in, "output_nc": out_ch, "ngf": int(first.shape[0]), "n_blocks": (last_i - 2) // 2,
                "scale": up, "act_type": act}
    _agree(flags, inferred)
    return _basicsr_plan(sd, "srvgg", {"num_in_ch": num_in, "num_out_ch": out_ch, "num_feat": inferred["ngf"],
                                       "num_conv": inferred["n_blocks"], "upscale": up, "act_type": act})


# --- building and writing ---


def build_from_plan(plan: ImportPlan) -> torch.nn.Module:
    """The net of ``plan`` with its weights loaded (strict: every key must fit)."""
    from translate.nets import build_net

    try:
        net = build_net(plan.arch, init=False, **plan.kwargs)
    except (TypeError, ValueError) as e:
        raise UserError(f"cannot build {plan.arch} with {plan.kwargs}: {e}") from None
    missing, unexpected = net.load_state_dict(plan.state, strict=False)
    if missing or unexpected:
        raise UserError(f"the weights do not fit {plan.arch} {plan.kwargs}: missing {', '.join(missing[:3]) or '-'}; "
                        f"unexpected {', '.join(unexpected[:3]) or '-'}; check the flags")
    try:
        net.load_state_dict(plan.state, strict=True)  # shapes too
    except RuntimeError as e:
        detail = str(e).strip().splitlines()[-1].strip()
        raise UserError(f"the weights do not fit {plan.arch} {plan.kwargs} ({detail[:200]}); check the flags") from None
    return net.eval()


def default_direction(src: str | Path) -> str:
    """BtoA for the reference's G_B files (CycleGAN's B -> A generator), else AtoB."""
    return "BtoA" if re.search(r"net_G_B\b", Path(src).name) else "AtoB"


def import_checkpoint(src: str | Path, dest: str | Path, arch: str | None = None, *, mode: str = "eval",
                      direction: str | None = None, name: str | None = None, overwrite: bool = False,
                      **flags) -> Path:
    """Convert a foreign checkpoint into a model file at ``dest`` (.safetensors) and return its path.

    ``flags``: ngf, norm, n_blocks, use_dropout, scale, act_type, input_nc, output_nc (None = infer).
    ``mode``: "eval" (BN running statistics, no dropout) or "reference-test" (the reference test.py's default
    without --eval: BN on batch statistics, dropout on), stored as info.inference_mode.
    """
    src, dest = Path(src), Path(dest)
    if mode not in INFERENCE_MODES:
        raise UserError(f"--mode {mode} is not one of {', '.join(INFERENCE_MODES)}")
    if direction is not None and direction not in DIRECTIONS:
        raise UserError(f"--direction {direction} is not one of {', '.join(DIRECTIONS)}")
    if dest.suffix != ".safetensors":
        raise UserError(f"the output {dest} must end in .safetensors")
    if src.exists() and dest.exists() and src.resolve() == dest.resolve():
        raise UserError("the output is the input; choose another -o")
    if dest.exists() and not overwrite:
        raise UserError(f"{dest} exists; pass --overwrite to replace it")
    plan = plan_import(src, arch, **flags)
    net = build_from_plan(plan)
    extra = {"imported_from": plan.tool, "source_file": src.name, "source_sha256": file_sha256(src)}
    if plan.notes:
        extra["import_notes"] = plan.notes
    info = ModelInfo(task=plan.task, method="imported", nets={}, directions={direction or default_direction(src): ["G"]},
                     name=name or src.stem.removesuffix(".pth"), value_range=plan.value_range,
                     scale=int(getattr(net, "scale", 1)), multiple=int(getattr(net, "multiple", 1)),
                     inference_mode=mode, extra=extra)
    return save_model(dest, {"G": net}, info)
