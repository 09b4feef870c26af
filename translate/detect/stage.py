"""DetectStage: scores frames inside a pipeline (pipelines/detect.yaml, `translate chain ... detect ...`).

Every ``every``-th frame gets meta["score"] (calibrated probability that it is generated; None for frames
not sampled). When a faces stage ran first, its meta["faces"] are the regions scored (max over faces);
frames without faces are scored whole. ``annotate`` draws the score on the frames (a bar and a label, red
when fake, amber when uncertain) so the written video shows where the detector fired. ``close()`` aggregates the
sampled scores with the confident-frames rule into the video's score and verdict (the run's summary), and
writes the JSON report when ``report`` is a path.
"""
from __future__ import annotations

import numpy as np

from translate.detect.scorer import DEFAULT_MODEL, Scorer
from translate.errors import UserError
from translate.video.frames import FrameBatch, Stage, StreamInfo


VERDICT_COLOURS = {"fake": (220, 40, 40), "uncertain": (230, 160, 30), "real": (40, 160, 60)}


def draw_score(frame: np.ndarray, score: float, threshold: float, uncertain_threshold: float | None = None) -> np.ndarray:
    """A copy of ``frame`` with a score bar along the top and the value and verdict written on it."""
    import cv2

    from translate.detect.calibrate import verdict

    out = np.ascontiguousarray(frame).copy()
    h, w = out.shape[:2]
    bar_h = max(4, h // 40)
    said = verdict(score, threshold, uncertain_threshold)
    colour = VERDICT_COLOURS[said]
    out[:bar_h] = (out[:bar_h] * 0.4).astype(np.uint8)
    out[:bar_h, :max(1, int(round(score * w)))] = colour
    tx = int(round(threshold * (w - 1)))
    out[:bar_h, tx] = (255, 255, 255)
    scale = max(0.35, h / 720)
    text = f"{score:.2f} {said}"
    org = (4, bar_h + int(18 * scale) + 2)
    cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), max(1, int(3 * scale)), cv2.LINE_AA)
    cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, max(1, int(scale)), cv2.LINE_AA)
    return out


class DetectStage(Stage):
    name = "detect"

    def __init__(self, scorer: Scorer, every: int = 1, annotate: bool = True, report: str | None = None):
        if every < 1:
            raise UserError(f"detect every must be at least 1, got {every}")
        self.scorer, self.every, self.annotate, self.report = scorer, int(every), bool(annotate), report
        self.scores: list[float] = []
        self.indices: list[int] = []
        self.path = "video"

    def open(self, info: StreamInfo) -> StreamInfo:
        self.path = info.path or "video"
        return info

    def process(self, batch: FrameBatch) -> FrameBatch:
        keep = [i for i, index in enumerate(batch.indices) if index % self.every == 0]
        for meta in batch.meta:
            meta["score"] = None
        if keep:
            faces = [batch.meta[i]["faces"] for i in keep] if any("faces" in batch.meta[i] for i in keep) else None
            if faces is not None:
                faces = [list(f or []) for f in faces]
            scores = self.scorer.score_frames(batch.frames[keep], faces)
            for i, s in zip(keep, scores):
                batch.meta[i]["score"] = s
                self.scores.append(s)
                self.indices.append(batch.indices[i])
        if not self.annotate:
            return batch
        last = self.scores[-1] if self.scores else None
        frames = []
        for frame, meta in zip(batch.frames, batch.meta):
            s = meta["score"] if meta["score"] is not None else last
            last = s
            frames.append(draw_score(frame, s, self.scorer.threshold, self.scorer.uncertain_threshold)
                          if s is not None else frame)
        return batch.with_frames(np.stack(frames))

    def result(self):
        from translate.detect.report import video_result

        return video_result(self.path, self.scores, self.scorer.threshold, self.indices,
                            uncertain_threshold=self.scorer.uncertain_threshold)

    def close(self) -> dict:
        if not self.scores:
            return {"frames_scored": 0}
        r = self.result()
        if self.report:
            from translate.detect.report import write_json_report

            write_json_report(self.report, [r], self.scorer.facts())
        return {"frames_scored": len(self.scores), "score": round(r.score, 4), "verdict": r.verdict, "rule": r.rule,
                "frames_flagged": r.frames_flagged, "threshold": round(r.threshold, 4),
                "uncertain_threshold": round(self.scorer.uncertain_threshold, 4),
                "mean_frame_score": round(r.mean_frame_score, 4),
                "model": self.scorer.facts()["name"], **({"report": str(self.report)} if self.report else {})}


def build_detect_stage(model: str = DEFAULT_MODEL, every: int = 1, annotate: bool = True, report: str | None = None,
                       device: str = "auto", batch_size: int = 16) -> DetectStage:
    """The pipeline registry's builder for ``detect``."""
    return DetectStage(Scorer(model, device=device, batch_size=batch_size), every=every, annotate=annotate, report=report)
