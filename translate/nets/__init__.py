"""Pure nn.Module networks and the builders that make them self-describing.

`build_generator(name, **kw)` / `build_discriminator(name, **kw)` / `build_net(arch, **kw)` construct a
registered net and stamp it with `net._translate_spec = (arch, full_kwargs)` (every constructor argument,
defaults filled in, JSON-serialisable) so `build_net(arch, **full_kwargs)` rebuilds it exactly. Each net also
has `net.multiple`: input H and W must be a multiple of it.

Registries are plain dicts of named constructors; a constructor's signature is its spec. Nets whose class sets
`uses_gan_init = True` get the reference init N(0, 0.02) unless `init=False`; other nets keep their own.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from . import detector, discogan, discriminators, efficientnet, faceswap, feature_nets, generators, sr
from .init import init_weights

GENERATORS: dict[str, Callable[..., nn.Module]] = {
    **generators.GENERATORS,
    **sr.GENERATORS,
    **discogan.GENERATORS,
    **faceswap.GENERATORS,
}
DISCRIMINATORS: dict[str, Callable[..., nn.Module]] = {
    **discriminators.DISCRIMINATORS,
    **sr.DISCRIMINATORS,
    **discogan.DISCRIMINATORS,
    **detector.DISCRIMINATORS,
    **efficientnet.DISCRIMINATORS,
}
# Further nets (e.g. detector.py) merge their own dict into one of the two above.
FEATURE_NETS: dict[str, Callable[..., nn.Module]] = dict(feature_nets.FEATURE_NETS)  # frozen, released weights

_JSON_SCALARS = (bool, int, float, str)


def build_generator(name: str, *, init: bool = True, **kwargs: Any) -> nn.Module:
    return _build(GENERATORS, "generator", name, init, kwargs)


def build_discriminator(name: str, *, init: bool = True, **kwargs: Any) -> nn.Module:
    return _build(DISCRIMINATORS, "discriminator", name, init, kwargs)


def build_net(arch: str, *, init: bool = True, **kwargs: Any) -> nn.Module:
    """Build from either registry (what loading a model file's `_translate_spec` needs)."""
    if arch in GENERATORS:
        return build_generator(arch, init=init, **kwargs)
    if arch in DISCRIMINATORS:
        return build_discriminator(arch, init=init, **kwargs)
    if arch in FEATURE_NETS:
        return _build(FEATURE_NETS, "feature network", arch, False, kwargs)
    raise ValueError(f"unknown network {arch!r}; valid: {', '.join(sorted({**GENERATORS, **DISCRIMINATORS, **FEATURE_NETS}))}")


def full_kwargs(ctor: Callable[..., nn.Module], kwargs: dict[str, Any]) -> dict[str, Any]:
    """kwargs with the constructor's defaults filled in; TypeError naming the valid ones if any is unknown."""
    sig = inspect.signature(ctor)
    try:
        bound = sig.bind(**kwargs)
    except TypeError as e:
        raise TypeError(f"{e}; valid arguments: {', '.join(sig.parameters)}") from None
    bound.apply_defaults()
    return dict(bound.arguments)


def _build(registry: dict[str, Callable[..., nn.Module]], kind: str, name: str, init: bool,
           kwargs: dict[str, Any]) -> nn.Module:
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; valid: {', '.join(sorted(registry))}")
    ctor = registry[name]
    spec = full_kwargs(ctor, kwargs)
    bad = {k: v for k, v in spec.items() if not isinstance(v, _JSON_SCALARS)}
    if bad:
        raise TypeError(f"{name}: arguments must be bool/int/float/str, got {bad}")
    net = ctor(**spec)
    if init and getattr(net, "uses_gan_init", False):
        init_weights(net)
    net._translate_spec = (name, spec)
    return net


__all__ = [
    "DISCRIMINATORS",
    "GENERATORS",
    "build_discriminator",
    "build_generator",
    "build_net",
    "full_kwargs",
    "init_weights",
]
