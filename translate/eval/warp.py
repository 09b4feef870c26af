"""Flicker of a processed video: the warping error of Lai et al. 2018 ("Learning Blind Video Temporal Consistency").

For each pair of consecutive frames, optical flow is computed on the *input* video (t -> t-1 and t-1 -> t,
translate.video.flow); pixels that fail the forward-backward check (occluded, disoccluded, or matched
outside the frame) are left out, and

    E_warp(t) = sum over visible x of || OUT_t(x) - OUT_{t-1}(x + flow(x)) ||^2 / (number of visible x)

with RGB in [0, 1] and the squared norm summed over the three channels (as the paper's code). The video's
E_warp is the mean over t >= 1. The same on the input itself (E_warp(IN)) is the floor that flow errors and
real lighting changes give; ``ratio`` = E_warp(OUT) / E_warp(IN). An output of another size (SR) is compared on
its own grid, the input's flow and mask resized to it. Frames stream: only the previous frames are kept.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from translate.errors import UserError
from translate.eval.metrics import psnr, ssim
from translate.video.flow import FlowFn, consistent, make_flow, resize_mask, scale_flow, warp


@dataclass
class FrameFlicker:
    index: int
    e_warp_out: float
    e_warp_in: float
    visible: float  # share of the frame's pixels that passed the consistency check
    psnr: float | None = None
    ssim: float | None = None


@dataclass
class FlickerResult:
    flow: str
    frames: list[FrameFlicker] = field(default_factory=list)
    input: str | None = None
    output: str | None = None
    reference: str | None = None
    reference_scores: list[tuple[float, float]] = field(default_factory=list)  # (psnr, ssim) of every frame

    def _mean(self, key: str) -> float:
        values = [getattr(f, key) for f in self.frames]
        return float(np.mean(values)) if values else float("nan")

    @property
    def e_warp_out(self) -> float:
        return self._mean("e_warp_out")

    @property
    def e_warp_in(self) -> float:
        return self._mean("e_warp_in")

    @property
    def ratio(self) -> float:
        return self.e_warp_out / self.e_warp_in if self.e_warp_in > 0 else float("inf")

    def summary(self) -> dict:
        out = {"e_warp_out": self.e_warp_out, "e_warp_in": self.e_warp_in, "ratio": self.ratio,
               "pairs": len(self.frames), "visible": self._mean("visible"), "flow": self.flow,
               "input": self.input, "output": self.output}
        if self.reference_scores:
            finite = [p for p, _ in self.reference_scores if np.isfinite(p)]
            out.update(reference=self.reference, psnr=float(np.mean(finite)) if finite else float("inf"),
                       ssim=float(np.mean([s for _, s in self.reference_scores])))
        return out

    def table(self) -> str:
        s = self.summary()
        rows = [("E_warp(OUT)", f"{s['e_warp_out']:.6f}"), ("E_warp(IN)", f"{s['e_warp_in']:.6f}"),
                ("ratio OUT/IN", f"{s['ratio']:.3f}"), ("frame pairs", str(s["pairs"])),
                ("visible pixels", f"{100 * s['visible']:.1f}%"), ("flow", s["flow"])]
        if "psnr" in s:
            rows += [("PSNR vs REF (dB)", f"{s['psnr']:.2f}"), ("SSIM vs REF", f"{s['ssim']:.4f}")]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

    def to_json(self) -> dict:
        """The summary and per-frame values; an infinite PSNR (identical frames) is written as null."""
        clean = lambda d: {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()}  # noqa: E731
        return {**clean(self.summary()), "frames": [clean(asdict(f)) for f in self.frames]}


def _unit(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float32) * (1.0 / 255.0)


def masked_error(cur: np.ndarray, prev_warped: np.ndarray, mask: np.ndarray) -> float:
    """Mean over the mask's pixels of the squared RGB difference summed over channels (inputs in [0, 1])."""
    n = float(mask.sum())
    if n == 0:
        return 0.0
    return float(np.sum(((cur - prev_warped) ** 2).sum(axis=-1) * mask) / n)


class FlickerMeter:
    """Streams (input frame, output frame) pairs and gives the warping error of each pair of consecutive frames."""

    def __init__(self, flow: FlowFn):
        self.flow = flow
        self._prev: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, index: int, frame_in: np.ndarray, frame_out: np.ndarray) -> FrameFlicker | None:
        prev, self._prev = self._prev, (frame_in, frame_out)
        if prev is None:
            return None
        in_prev, out_prev = prev
        if out_prev.shape != frame_out.shape or in_prev.shape != frame_in.shape:
            raise UserError(f"frame {index} changes size; both videos need one frame size throughout")
        backward = self.flow(frame_in, in_prev)
        visible = consistent(backward, self.flow(in_prev, frame_in)).astype(np.float32)
        e_in = masked_error(_unit(frame_in), warp(_unit(in_prev), backward), visible)
        h, w = frame_out.shape[:2]
        back_out = scale_flow(backward, w, h)
        vis_out = (resize_mask(visible, w, h) > 0.5).astype(np.float32)
        e_out = masked_error(_unit(frame_out), warp(_unit(out_prev), back_out), vis_out)
        return FrameFlicker(index, e_out, e_in, float(visible.mean()))


def flicker_of_frames(inputs: Iterable[np.ndarray], outputs: Iterable[np.ndarray], flow: str | FlowFn = "dis",
                      references: Iterable[np.ndarray] | None = None) -> FlickerResult:
    """The warping error of ``outputs`` (uint8 RGB frames) against the motion of ``inputs``; PSNR/SSIM to references."""
    flow_fn = make_flow(flow) if isinstance(flow, str) else flow
    meter = FlickerMeter(flow_fn)
    result = FlickerResult(flow=getattr(flow_fn, "name", "custom"))
    refs = references if references is not None else ()
    for index, (frame_in, frame_out, ref) in enumerate(zip_longest(inputs, outputs, refs)):
        if frame_in is None or frame_out is None:
            raise UserError(f"the videos differ in length: one ends at frame {index}; compare the output with its own input")
        if references is not None:
            if ref is None:
                raise UserError(f"the reference ends at frame {index}, before the output")
            if ref.shape != frame_out.shape:
                raise UserError(f"the reference is {ref.shape[1]}x{ref.shape[0]}, the output {frame_out.shape[1]}x"
                                f"{frame_out.shape[0]}: give a reference of the output's size")
            result.reference_scores.append((psnr(frame_out, ref), ssim(frame_out, ref)))
        record = meter.add(index, np.asarray(frame_in), np.asarray(frame_out))
        if record is not None:
            if references is not None:
                record.psnr, record.ssim = result.reference_scores[-1]
            result.frames.append(record)
    if not result.frames:
        raise UserError("the flicker of a video needs at least two frames")
    return result


def iter_video_frames(path: str | Path, start: float | str | None = None, end: float | str | None = None) -> Iterator[np.ndarray]:
    """Every frame of a video, one at a time (batches of 8 decoded over the ffmpeg pipe)."""
    from translate.video.reader import FrameReader

    reader = FrameReader(path, batch_size=8, start=start, end=end)
    try:
        for batch in reader:
            yield from batch.frames
    finally:
        reader.close()


def evaluate_video(input: str | Path, output: str | Path, reference: str | Path | None = None,
                   flow: str = "auto") -> FlickerResult:
    """E_warp of OUTPUT (and of INPUT) with the input's motion; mean PSNR/SSIM of OUTPUT against REFERENCE."""
    for p in (input, output, reference):
        if p is not None and not Path(p).is_file():
            raise UserError(f"{p}: no such file")
    refs = iter_video_frames(reference) if reference is not None else None
    result = flicker_of_frames(iter_video_frames(input), iter_video_frames(output), flow, refs)
    result.input, result.output = str(input), str(output)
    result.reference = str(reference) if reference is not None else None
    return result


def json_line(result: FlickerResult) -> str:
    return json.dumps(result.to_json())
