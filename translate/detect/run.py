"""The library side of `translate detect`: score images, folders and videos; one FileResult per file.

- An image is one score (face crops with ``faces``, else the whole image or its tiles).
- A video is read with FrameReader; ``frames`` (16) frames spread over it are scored, or every ``every``-th
  frame when asked (frames 0, N, 2N, ...; ffmpeg drops the others before conversion). 16 rather than
  DeepfakeBench's 32 frames per video keeps a 10 s 720p clip well within 30 s on a 2-core CPU. The
  per-frame scores are aggregated with the confident-frames rule (aggregate.py) into the video's score.
- A folder contributes every image and video under it (recursive, sorted).
A file that cannot be read becomes an error result (the others are still scored; named_file_outcome applies the
named-file rule to them); a missing path or a folder with nothing to score is a UserError straight away. The provenance tag a file carries is read
and reported, never scored.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from translate.data.images import IMAGE_EXTS, load_rgb
from translate.detect.report import (
    FileResult,
    error_result,
    image_result,
    read_provenance_tags,
    video_result,
)
from translate.detect.scorer import Scorer
from translate.errors import UserError
from translate.named_inputs import InputOutcome

DEFAULT_FRAMES = 16
VIDEO_EXTS = {".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".wmv", ".flv", ".3gp"}


def kind_of(path: Path) -> str:
    """ "image" or "video" from the file's suffix; unknown suffixes are tried as images first."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_EXTS:
        return "video"
    if suffix in IMAGE_EXTS:
        return "image"
    try:
        from PIL import Image

        with Image.open(path):
            return "image"
    except Exception:  # noqa: BLE001 - anything PIL cannot open is handed to ffmpeg
        return "video"


def expand_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """Files to score: files as given, folders expanded to their images and videos (sorted)."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
                           and p.suffix.lower() in IMAGE_EXTS | VIDEO_EXTS)
            if not found:
                raise UserError(f"{path} holds no images or videos to score ({', '.join(sorted(IMAGE_EXTS | VIDEO_EXTS))})")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise UserError(f"{path}: no such file or folder")
    if not files:
        raise UserError("nothing to score: give image or video files, or folders of them")
    return files


class FaceFinder:
    """Face boxes per frame with a landmark backend (translate.faces), built on first use."""

    def __init__(self, backend: str = "auto", device: str = "auto"):
        self.backend, self.device = backend, device
        self._detector = None

    def __call__(self, frame: np.ndarray) -> list:
        if self._detector is None:
            from translate.faces.landmarks import make_detector

            self._detector = make_detector(self.backend, device=self.device)
        return list(self._detector.detect(frame))


def score_image_file(scorer: Scorer, path: Path, faces: FaceFinder | None = None) -> FileResult:
    image = load_rgb(path)
    score = scorer.score_image(image, faces(image) if faces is not None else None)
    return image_result(path, score, scorer.threshold, read_provenance_tags(path), scorer.uncertain_threshold)


def sampling_step(reader, frames: int) -> int:
    """The --every that spreads ``frames`` scored frames over the clip (1 when its length is unknown)."""
    info = reader.info
    n = info.frame_count or (round(float(info.duration) * float(info.fps)) if info.duration and info.fps else 0)
    return max(1, -(-int(n) // max(1, frames))) if n else 1


def score_video_file(scorer: Scorer, path: Path, every: int | None = None, faces: FaceFinder | None = None,
                     progress: Callable[[int], None] | None = None, frames: int = DEFAULT_FRAMES) -> FileResult:
    """Score every ``every``-th frame, or (every None) ``frames`` frames spread over the clip."""
    from translate.video.reader import FrameReader

    if every is not None and every < 1:
        raise UserError(f"--every must be at least 1, got {every}")
    reader = FrameReader(path, batch_size=scorer.batch_size)
    if every is None:
        every = sampling_step(reader, frames)
    reader.step = every  # ffmpeg drops the frames in between: they are never converted or piped
    scores: list[float] = []
    indices: list[int] = []
    for batch in reader:  # only frames 0, every, 2 every, ... come out
        found = [faces(f) for f in batch.frames] if faces is not None else None
        scores += scorer.score_frames(batch.frames, found)
        indices += batch.indices
        if progress is not None:
            progress(len(batch))
    if not scores:
        raise UserError(f"{path}: no frame was decoded")
    return video_result(path, scores, scorer.threshold, indices, read_provenance_tags(path),
                        scorer.uncertain_threshold)


def detect_files(files: list[Path], scorer: Scorer, every: int | None = None, faces: FaceFinder | None = None,
                 progress: bool = False, frames: int = DEFAULT_FRAMES) -> list[FileResult]:
    """Score every file; unreadable ones become error results (message without the traceback)."""
    from translate.progress import progress_bar

    bar = progress_bar(len(files), desc="detect", unit="file", quiet=not progress, leave=False)
    results = []
    try:
        for path in files:
            kind = kind_of(path)
            try:
                if kind == "image":
                    results.append(score_image_file(scorer, path, faces))
                else:
                    results.append(score_video_file(scorer, path, every, faces, frames=frames))
            except UserError as e:
                results.append(error_result(path, kind, str(e)))
            bar.update(1)
    finally:
        bar.close()
    return results


def named_file_outcome(inputs: Iterable[str | Path], results: list[FileResult]) -> InputOutcome:
    """The named-file rule (translate.named_inputs) over ``results``: a file given as itself is named; one found
    inside a given folder is not (it is skipped and counted)."""
    named = {str(Path(item)) for item in inputs if Path(item).is_file()}
    outcome = InputOutcome(done=sum(r.error is None for r in results))
    for r in results:
        if r.error is not None:
            outcome.fail(r.path, r.error, named=r.path in named)
    return outcome


def detect(inputs: Iterable[str | Path], model: str = "detector", every: int | None = None, faces: bool = False,
           landmarks: str = "auto", device: str = "auto", batch_size: int = 16,
           progress: bool = False, frames: int = DEFAULT_FRAMES) -> tuple[list[FileResult], Scorer]:
    """Expand ``inputs``, load the model and score everything: (results, scorer)."""
    files = expand_inputs(inputs)
    scorer = Scorer(model, device=device, batch_size=batch_size)
    finder = FaceFinder(landmarks, device) if faces else None
    return detect_files(files, scorer, every, finder, progress, frames), scorer
