"""Optical flow between consecutive frames, warping by it, and which of its pixels to trust.

Shared by the flicker metric (translate.eval.warp) and the temporal stage (translate.video.temporal).
Convention throughout: ``flow(a, b)`` is an (H, W, 2) float32 field with a(x) ~ b(x + flow(x)), so
``warp(b, flow(a, b))`` brings frame b onto frame a's pixel grid (this is OpenCV's and RAFT's convention).

Backends: OpenCV's DIS (no weights, fast on CPU) and torchvision's RAFT, used only where its weights are
already in a weights folder or the torch hub cache (never downloaded here; DESIGN.md section 5).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from translate.errors import UserError

FlowFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
FLOW_BACKENDS = ("auto", "dis", "raft")
DIS_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


def to_gray(frame: np.ndarray) -> np.ndarray:
    """uint8 luma of an RGB frame (what DIS works on)."""
    return frame if frame.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


class DISFlow:
    """OpenCV DIS optical flow on grayscale frames. One instance per stream (it is not thread-safe)."""

    name = "dis"

    def __init__(self, preset: str = "medium"):
        self._dis = cv2.DISOpticalFlow_create(DIS_PRESETS[preset])

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self._dis.calc(to_gray(a), to_gray(b), None)


def raft_weight_file() -> Path | None:
    """torchvision's RAFT-large weights where they already are (weights folders, torch hub cache), else None."""
    from torchvision.models.optical_flow import Raft_Large_Weights

    from translate.weights.manifest import find_weight_file

    return find_weight_file(Path(Raft_Large_Weights.DEFAULT.url).name)


class RAFTFlow:
    """torchvision RAFT-large from a local weight file (loaded with weights_only=True); RGB frames in."""

    name = "raft"

    def __init__(self, path: Path, device: str = "auto"):
        import torch
        from torchvision.models.optical_flow import raft_large

        from translate.device import resolve_device

        self.torch = torch
        self.device = resolve_device(device)
        self.net = raft_large(weights=None)
        self.net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.net.eval().to(self.device)

    def _tensor(self, frame: np.ndarray):
        x = self.torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float().to(self.device)
        return x / 127.5 - 1.0

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        h, w = a.shape[:2]
        ph, pw = (-h) % 8, (-w) % 8  # RAFT needs sides that are multiples of 8
        pad = lambda f: np.pad(f, ((0, ph), (0, pw), (0, 0)), mode="edge")  # noqa: E731
        with self.torch.inference_mode():
            flows = self.net(self._tensor(pad(a)), self._tensor(pad(b)), num_flow_updates=12)
        return flows[-1][0].permute(1, 2, 0)[:h, :w].float().cpu().numpy()


def make_flow(backend: str = "auto", device: str = "auto") -> FlowFn:
    """A flow function: ``raft`` needs its weights at hand; ``auto`` takes RAFT when they are, else DIS."""
    if backend not in FLOW_BACKENDS:
        raise UserError(f"flow must be one of {', '.join(FLOW_BACKENDS)}, got {backend!r}")
    if backend in ("auto", "raft"):
        path = raft_weight_file()
        if path is not None:
            return RAFTFlow(path, device)
        if backend == "raft":
            from torchvision.models.optical_flow import Raft_Large_Weights

            from translate.weights.manifest import hub_checkpoints_dir

            url = Raft_Large_Weights.DEFAULT.url
            raise UserError(f"RAFT weights {Path(url).name} not found: download {url} into {hub_checkpoints_dir()}, "
                            "or use --flow dis")
    return DISFlow()


@lru_cache(maxsize=4)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """The pixel coordinates (kept: every frame of a stream has the same size; callers never write to them)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    xs.flags.writeable = ys.flags.writeable = False
    return xs, ys


def warp(image: np.ndarray, flow: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """``image`` sampled at x + flow(x) (bilinear, edges repeated): the other frame on this frame's grid."""
    h, w = flow.shape[:2]
    xs, ys = _grid(h, w)
    return cv2.remap(image, xs + flow[..., 0], ys + flow[..., 1], interpolation, borderMode=cv2.BORDER_REPLICATE)


def inside(flow: np.ndarray) -> np.ndarray:
    """True where x + flow(x) lands inside the frame (pixels that come from outside it are not visible)."""
    h, w = flow.shape[:2]
    xs, ys = _grid(h, w)
    x, y = xs + flow[..., 0], ys + flow[..., 1]
    return (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)


def consistent(backward: np.ndarray, forward: np.ndarray, alpha: float = 0.01, beta: float = 0.5) -> np.ndarray:
    """Forward-backward check (Sundaram et al. 2010, as Ruder et al. and Lai et al. use it) on frame t's grid.

    ``backward`` = flow(t, t-1), ``forward`` = flow(t-1, t). A pixel is visible in both frames when following
    one and then the other comes back to it: |b + f(x + b)|^2 < alpha (|b|^2 + |f(x + b)|^2) + beta.
    Occluded and disoccluded pixels, those whose match falls outside the frame and those on a motion boundary
    fail it.
    """
    f_at = warp(forward, backward)
    round_trip = squared_norm(backward + f_at)
    bound = alpha * (squared_norm(backward) + squared_norm(f_at)) + beta
    return (round_trip < bound) & inside(backward) & ~motion_boundary(backward)


def motion_boundary(flow: np.ndarray, alpha: float = 0.01, beta: float = 0.002) -> np.ndarray:
    """Where the flow changes fast (Ruder et al. 2016: |grad u|^2 + |grad v|^2 > alpha |w|^2 + beta).

    A smooth flow (DIS's densification, RAFT's upsampling) smears an object's motion onto the background
    beside it, so both directions can agree there although those pixels are occluded: this catches them.
    """
    gy_u, gx_u = np.gradient(flow[..., 0])
    gy_v, gx_v = np.gradient(flow[..., 1])
    grad = gx_u**2 + gy_u**2 + gx_v**2 + gy_v**2
    return grad > alpha * squared_norm(flow) + beta


def squared_norm(flow: np.ndarray) -> np.ndarray:
    """u^2 + v^2 per pixel, written out: numpy's sum over a last axis of 2 is ~10x slower (it was a quarter of
    the stabilize stage's time)."""
    u, v = flow[..., 0], flow[..., 1]
    return u * u + v * v


def scale_flow(flow: np.ndarray, width: int, height: int) -> np.ndarray:
    """A flow field resized to (width, height), its vectors scaled with it (LR input flow -> SR output)."""
    h, w = flow.shape[:2]
    if (w, h) == (width, height):
        return flow
    out = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= width / w
    out[..., 1] *= height / h
    return out


def resize_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """A per-pixel weight or mask (float) resized to (width, height)."""
    if mask.shape[1] == width and mask.shape[0] == height:
        return mask
    return cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
