"""DistributedDataParallel under torchrun: nccl on GPUs, gloo on CPU; only rank 0 writes."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from translate.device import resolve_device


@dataclass
class DistEnv:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    enabled: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def close(self) -> None:
        if self.enabled and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def init_distributed(device_spec: str = "auto") -> DistEnv:
    """Read torchrun's environment; without it, a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistEnv()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_spec)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    torch.distributed.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistEnv(rank, world, local_rank, device, True)


def unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, DDP) else module


def wrap_for_training(method, dist: DistEnv) -> None:
    """Wrap every trainable net of ``method`` in DDP (SyncBatchNorm on CUDA; plain BN on CPU, with a warning)."""
    if not dist.enabled:
        return
    has_bn = False
    for name, net in list(method.nets.items()):
        if not any(p.requires_grad for p in net.parameters()):
            continue
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules()):
            has_bn = True
            if dist.device.type == "cuda":
                net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
        attrs = {k: getattr(net, k) for k in ("_translate_spec", "multiple") if hasattr(net, k)}
        wrapped = DDP(net, device_ids=[dist.device.index] if dist.device.type == "cuda" else None)
        for k, v in attrs.items():
            setattr(wrapped, k, v)
        method.nets[name] = wrapped
    if has_bn and dist.device.type != "cuda" and dist.is_main:
        print("warning: SyncBatchNorm needs CUDA; batch norm statistics are per process on CPU", file=sys.stderr)
