"""Choose the compute device and the autocast precision."""
from __future__ import annotations

import contextlib
import os

import torch

from translate.errors import UserError
from translate.nets.winograd import use_winograd

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def resolve_device(spec: str = "auto") -> torch.device:
    """auto -> cuda, then mps, then cpu; explicit specs are checked so a typo is one clear line."""
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise UserError(f"unknown device {spec!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {spec}: CUDA is not available on this machine; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UserError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) here")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise UserError("--device mps: MPS is not available on this machine; use --device cpu")
    return device


def cpu_name() -> str:
    """The CPU model, for benchmark records (/proc/cpuinfo on Linux)."""
    import platform

    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# Forces what `--precision auto` picks on CPU: 1 = bf16 autocast, 0 = fp32 (+ Winograd), unset = ask oneDNN.
CPU_BF16_ENV = "TRANSLATE_CPU_BF16"


def cpu_has_native_bf16() -> bool:
    """What the hardware says: native bf16 (AVX512-BF16 / AMX), where bf16 autocast is actually faster."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:
        return False


def cpu_supports_bf16() -> bool:
    """Whether `auto` uses bf16 on CPU: ``$TRANSLATE_CPU_BF16`` (0 or 1) when set, else the hardware's answer."""
    forced = os.environ.get(CPU_BF16_ENV, "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    if forced:
        raise UserError(f"{CPU_BF16_ENV}={forced!r}: use 0 (fp32 + Winograd), 1 (bf16 autocast) or leave it unset")
    return cpu_has_native_bf16()


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device`` (None = plain fp32)."""
    if precision not in PRECISIONS:
        raise UserError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return None
    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if device.type == "cpu" and cpu_supports_bf16():
            return torch.bfloat16
        return None
    if precision == "fp16" and device.type == "cpu":
        raise UserError("--precision fp16 needs a GPU; on CPU use bf16 or fp32")
    return torch.bfloat16 if precision == "bf16" else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None):
    """A context that runs under autocast when dtype is set, else does nothing."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def speed_up(net: torch.nn.Module, device: torch.device, precision: str, amp_dtype: torch.dtype | None,
             compile: bool = False) -> str:
    """The one place nets get their device-specific fast paths; returns what was chosen, for logs.

    CUDA: cudnn autotuning + channels_last (autocast is the caller's). CPU under ``--precision auto`` with no
    native bf16: Winograd F(4,3) for the wide 3x3 convs (fp32 arithmetic, ~1e-5 relative difference);
    ``--precision fp32`` keeps the plain direct convolution, the reference's exact computation.
    ``compile``: torch.compile in place (state-dict keys unchanged); it brings its own conv choices.
    """
    chosen = str(amp_dtype).replace("torch.", "") if amp_dtype is not None else "fp32"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        net.to(memory_format=torch.channels_last)
        chosen += "+channels_last"
    elif device.type == "cpu" and amp_dtype is None and precision == "auto" and not compile:
        if use_winograd(net):
            chosen += "+winograd"
    if compile:
        net.compile()
        chosen += "+compile"
    return chosen
