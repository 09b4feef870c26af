"""Flow-guided temporal consistency for any per-frame model: the `stabilize` stage (`translate video --temporal`).

After a per-frame model, the previous *output* is warped onto the current frame by the optical flow of the
*input* (the frames the model saw) and blended into the current output where that flow can be trusted:

    out_t = model(in_t) + limit(w * (warp(out_{t-1}) - model(in_t))),   w = strength * consistent * photometric

- ``consistent``: the forward-backward check of the input's flow (occluded and disoccluded pixels get 0);
- ``photometric``: exp(-(d / photometric)^2) with d = the largest RGB difference |in_t - warp(in_{t-1})|
  (grey levels), spread over 3x3: where the warped input does not match (a fast object, a reflection, a
  lighting change) nothing old is blended, so a moving object leaves no trail; compression noise and small
  warping errors (a few levels) keep most of the weight, so the model's flicker there is blended away.
- ``limit``, the fidelity floor: a correction that would move the frame further than ``fidelity`` dB PSNR
  from the model's own output is scaled down to it, so a model that flickers wildly is steadied as far as
  that allows and a consistent but wrong output cannot win.
- A scene cut (grey-level histograms far apart, or almost no pixel reliable) resets it: the cut frame is the
  model's own output.
- It streams: one previous input and one previous output per stream are kept. The flow (DIS "medium", as the
  flicker metric) is computed on the input (for an upscaler: the low-resolution frame) and resized to the output.

Where the input frames come from: the translate stage leaves each frame's input in ``meta["source"]``
(whole frames), or the faces stage's aligned ``crop`` beside the translated ``translated`` crop (faces);
this stage pops ``source`` so the batch does not carry it further. With faces, each face track is
stabilised on its own aligned crops before blend pastes it back.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from translate.errors import UserError
from translate.video.flow import DISFlow, consistent, resize_mask, scale_flow, to_gray, warp
from translate.video.frames import FrameBatch, Stage


@dataclass
class TemporalConfig:
    strength: float = 0.6       # the most of the warped previous output blended in (0 = off, < 1)
    photometric: float = 30.0   # grey levels of input mismatch at which the blend weight has fallen to 1/e
    fidelity: float = 31.0      # dB: no frame moves further than this PSNR from the model's output (0 = no floor)
    cut_histogram: float = 0.5  # total-variation distance of grey histograms above which a frame is a cut
    cut_reliable: float = 0.2   # fewer reliable pixels than this share: a cut too
    flow_preset: str = "medium"  # DIS preset: ultrafast | fast | medium

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength < 1.0:
            raise UserError(f"temporal strength must be in [0, 1) (0 = off), got {self.strength}")
        if self.photometric <= 0:
            raise UserError(f"photometric tolerance must be > 0 grey levels, got {self.photometric}")
        if self.fidelity < 0:
            raise UserError(f"fidelity must be >= 0 dB (0 = no floor), got {self.fidelity}")


def histogram_distance(a: np.ndarray, b: np.ndarray, bins: int = 32) -> float:
    """Total-variation distance (0..1) of two grey images' histograms: near 0 for motion, large across a cut."""
    ha = np.bincount(a.ravel() >> (8 - int(np.log2(bins))), minlength=bins) / a.size
    hb = np.bincount(b.ravel() >> (8 - int(np.log2(bins))), minlength=bins) / b.size
    return 0.5 * float(np.abs(ha - hb).sum())


class Stabilizer:
    """One stream's state: the previous input and output. ``__call__(input, output)`` -> stabilised output."""

    def __init__(self, config: TemporalConfig, flow: DISFlow | None = None):
        self.config = config
        self.flow = flow or DISFlow(config.flow_preset)
        self.prev_src: np.ndarray | None = None
        self.prev_gray: np.ndarray | None = None
        self.prev_out: np.ndarray | None = None
        self.cuts = 0
        self.blended = 0
        self.limited = 0  # frames whose correction the fidelity floor scaled down

    def reset(self) -> None:
        self.prev_src = self.prev_gray = self.prev_out = None

    def weight(self, source: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(blend weight on the input's grid, flow t -> t-1), or (None, None) at a cut or the first frame."""
        prev = self.prev_gray
        if prev is None or prev.shape != gray.shape or histogram_distance(prev, gray) > self.config.cut_histogram:
            return None, None
        backward = self.flow(gray, prev)
        reliable = consistent(backward, self.flow(prev, gray))
        if reliable.mean() < self.config.cut_reliable:
            return None, None
        # the largest channel difference: a colour that changes at equal luma (yellow over grey) counts too
        mismatch = cv2.absdiff(source, warp(self.prev_src, backward))
        if mismatch.ndim == 3:  # channel by channel: a max over a last axis of 3 is ~10x slower in numpy
            mismatch = np.maximum.reduce([mismatch[..., c] for c in range(mismatch.shape[-1])])
        mismatch = mismatch.astype(np.float32)
        # spread a little: a reliable pixel next to a moving edge is better left alone
        mismatch = cv2.dilate(mismatch / self.config.photometric, np.ones((3, 3), np.uint8))
        w = self.config.strength * reliable * np.exp(-(mismatch**2))
        return w.astype(np.float32), backward

    def limit(self, correction: np.ndarray) -> np.ndarray:
        """The fidelity floor: a correction whose RMS would take the frame below ``fidelity`` dB PSNR of the
        model's output is scaled down to that RMS."""
        if not self.config.fidelity:
            return correction
        cap = 255.0 * 10 ** (-self.config.fidelity / 20)
        rms = float(np.sqrt(np.mean(np.square(correction))))
        if rms > cap:
            self.limited += 1
            correction *= cap / rms
        return correction

    def __call__(self, source: np.ndarray, output: np.ndarray) -> np.ndarray:
        source = np.ascontiguousarray(source)
        gray = to_gray(source)
        same = self.prev_src is not None and self.prev_src.shape == source.shape
        w, backward = self.weight(source, gray) if self.config.strength > 0 and same else (None, None)
        prev_out = self.prev_out
        if w is None or prev_out is None or prev_out.shape != output.shape:
            if self.prev_gray is not None and self.config.strength > 0:
                self.cuts += 1
            result = output
        else:
            h, wd = output.shape[:2]
            out = output.astype(np.float32)
            correction = warp(prev_out, scale_flow(backward, wd, h)).astype(np.float32) - out
            correction *= resize_mask(w, wd, h)[..., None]
            result = np.clip(out + self.limit(correction) + 0.5, 0, 255).astype(np.uint8)
            self.blended += 1
        # a copy: the source may be a view of a batch buffer that the reader fills again
        self.prev_src, self.prev_gray, self.prev_out = source.copy(), gray, result
        return result


class TemporalStage(Stage):
    """The `stabilize` stage: put it after `translate` (whole frames) or between `translate` and `blend` (faces)."""

    name = "stabilize"

    def __init__(self, config: TemporalConfig):
        self.config = config
        self.frames_stream = Stabilizer(config)
        self.tracks: dict[int, Stabilizer] = {}
        self.frames = 0

    def process(self, batch: FrameBatch) -> FrameBatch:
        if any("faces" in m for m in batch.meta):
            for meta in batch.meta:
                self._faces(meta.get("faces", []))
                meta.pop("source", None)
            self.frames += len(batch)
            return batch
        if not all("source" in m for m in batch.meta):
            raise UserError("stabilize needs a translate stage before it (it uses the frames the model saw)")
        frames = np.stack([self.frames_stream(m.pop("source"), f) for m, f in zip(batch.meta, batch.frames)])
        self.frames += len(batch)
        return batch.with_frames(frames)

    def _faces(self, faces: list[dict]) -> None:
        """Each face track on its own aligned crops; a track missing from a frame starts over when it returns."""
        seen = set()
        for face in faces:
            if face.get("translated") is None or face.get("crop") is None:
                continue
            track = int(face.get("track", 0))
            seen.add(track)
            stab = self.tracks.setdefault(track, Stabilizer(self.config))
            face["translated"] = stab(np.asarray(face["crop"]), np.asarray(face["translated"]))
        for track in [t for t in self.tracks if t not in seen]:
            self.tracks[track].reset()

    def close(self) -> dict:
        streams = [self.frames_stream, *self.tracks.values()]
        return {"frames": self.frames, "strength": self.config.strength, "blended": sum(s.blended for s in streams),
                "limited": sum(s.limited for s in streams), "scene_cuts": sum(s.cuts for s in streams)}

    def tags(self) -> dict[str, str]:
        return {"temporal": f"flow-guided, strength {self.config.strength:g}"} if self.config.strength else {}


def build_stabilize_stage(strength: float = 0.6, photometric: float = 30.0, fidelity: float = 31.0,
                          cut_histogram: float = 0.5, cut_reliable: float = 0.2,
                          flow_preset: str = "medium") -> TemporalStage:
    """The `stabilize` stage of chains and pipelines (`translate video --temporal`)."""
    return TemporalStage(TemporalConfig(strength, photometric, fidelity, cut_histogram, cut_reliable, flow_preset))
