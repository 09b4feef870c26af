"""Frames on disk: extract a video into numbered images, encode a folder of images into a video."""
from __future__ import annotations

import os
import re
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from translate.errors import UserError, ensure_folder
from translate.video.frames import FrameBatch, StreamInfo
from translate.video.probe import resolve_colors
from translate.video.reader import FrameReader, format_rate
from translate.video.runner import Runner, check_output_path
from translate.video.writer import FrameWriter

# ---------------------------------------------------------------------------------------------- frames on disk


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def _natural_key(path: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def list_frame_images(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder")
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")),
                   key=_natural_key)
    if not files:
        raise UserError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


class ImageFolderReader:
    """Batches of frames from a folder of same-size images in natural order (frame_2 before frame_10).

    Quacks like FrameReader for the Runner: ``info``, ``expected_estimate``, ``warnings``, ``close()``.
    """

    def __init__(self, folder: str | Path, fps: Fraction, batch_size: int = 8):
        from PIL import Image

        self.path = Path(folder)
        self.files = list_frame_images(folder)
        self.batch_size = max(1, batch_size)
        self.start = self.end = None
        try:
            with Image.open(self.files[0]) as im:
                width, height = im.size
        except (OSError, SyntaxError) as e:
            raise UserError(f"{self.files[0]}: not a readable image ({e})") from None
        # RGB images: converted and tagged as a player would show a video of this size
        self.info = resolve_colors(StreamInfo(width=width, height=height, fps=Fraction(fps), frame_count=len(self.files),
                                              duration=float(len(self.files) / Fraction(fps)), path=str(self.path)))
        self.expected_estimate = len(self.files)
        self.warnings: list[str] = []
        self._closed = False

    def _load(self, path: Path, out: np.ndarray) -> None:
        from PIL import Image

        try:
            with Image.open(path) as im:
                if im.size != (self.info.width, self.info.height):
                    raise UserError(f"{path} is {im.size[0]}x{im.size[1]}, the first frame is "
                                    f"{self.info.width}x{self.info.height}; all frames must have one size")
                out[...] = np.asarray(im.convert("RGB"))
        except (OSError, SyntaxError) as e:
            raise UserError(f"{path}: not a readable image ({e})") from None

    def __iter__(self) -> Iterator[FrameBatch]:
        h, w = self.info.height, self.info.width
        for i in range(0, len(self.files), self.batch_size):
            if self._closed:
                return
            chunk = self.files[i:i + self.batch_size]
            buf = np.empty((len(chunk), h, w, 3), np.uint8)
            for j, path in enumerate(chunk):
                self._load(path, buf[j])
            yield FrameBatch(buf, list(range(i, i + len(chunk))), [{"file": p.name} for p in chunk])

    def close(self) -> None:
        self._closed = True


def _prepare_output_folder(out: Path, overwrite: bool) -> Path:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; give a folder for the frames")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UserError(f"{out} is not empty; pass --overwrite to write frames into it")
    ensure_folder(out.parent)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    return tmp


def _commit_folder(tmp: Path, out: Path) -> None:
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.replace(tmp, out)
        return
    for f in tmp.iterdir():  # --overwrite into a folder with other files: replace ours, keep the rest
        os.replace(f, out / f.name)
    tmp.rmdir()


def extract_frames(video: str | Path, out: str | Path, every: int = 1, fmt: str = "png", start=None, end=None,
                   overwrite: bool = False, progress: bool = True) -> dict:
    """Write every ``every``-th frame of ``video`` as OUT/frame_<index>.<fmt> (index = source frame number)."""
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    if every < 1:
        raise UserError("--every must be 1 or more")
    if fmt not in ("png", "jpg"):
        raise UserError("frame format must be png or jpg")
    out = Path(out)
    reader = FrameReader(video, batch_size=8, start=start, end=end)
    tmp = _prepare_output_folder(out, overwrite)
    bar = None
    written = 0
    digits = max(6, len(str(reader.expected_estimate or 0)))
    save_kw = {"compress_level": 1} if fmt == "png" else {"quality": 95}
    try:
        if progress:
            from translate.progress import progress_bar

            bar = progress_bar(reader.expected_estimate, desc=out.name, unit="frame")
        with ThreadPoolExecutor(max_workers=2) as pool:
            pending = []
            for batch in reader:
                for frame, index in zip(batch.frames, batch.indices):
                    if index % every:
                        continue
                    target = tmp / f"frame_{index:0{digits}d}.{fmt}"
                    pending.append(pool.submit(lambda a, p: Image.fromarray(a).save(p, **save_kw), frame, target))
                    written += 1
                for fut in pending:
                    fut.result()
                pending.clear()
                if bar is not None:
                    bar.update(len(batch))
        _commit_folder(tmp, out)
    except BaseException:
        reader.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    return {"folder": str(out), "written": written, "frames": reader.frames_read, "every": every,
            "fps": format_rate(reader.info.fps), "warnings": reader.warnings}


# ---------------------------------------------------------------------------------------------- frames -> video


def encode_frames(folder: str | Path, output: str | Path, fps: str | Fraction, audio_from: str | Path | None = None,
                  codec: str = "h264", crf: int = 18, preset: str = "medium", overwrite: bool = False,
                  progress: bool = True) -> dict:
    """Encode a folder of same-size images (natural order) at ``fps`` into ``output``, with audio from a video.

    Provenance tags of the first frame (written by `translate apply`) are carried to the video.
    """
    from fractions import Fraction

    from translate.provenance import read_provenance
    from translate.video.probe import parse_rate

    rate = fps if isinstance(fps, Fraction) else parse_rate(str(fps))
    if rate is None:
        raise UserError(f"--fps {fps!r} is not a frame rate; use e.g. 25, 24000/1001 or 30000/1001")
    output = Path(output)
    if output.exists() and not overwrite:
        raise UserError(f"{output} exists; pass --overwrite to replace it")
    reader = ImageFolderReader(folder, rate)
    if audio_from is not None:
        check_output_path(audio_from, output, overwrite)
    writer = FrameWriter(output, codec=codec, crf=crf, preset=preset, audio_from=audio_from, overwrite=overwrite)
    try:
        carried = {k: v for k, v in read_provenance(reader.files[0]).items() if k != "translate_version"}
    except UserError:
        carried = {}
    return Runner(reader, [], writer, progress=progress, tags=carried).run()
