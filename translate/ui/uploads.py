"""The page's temporary upload folder: Gradio's uploads and cached outputs land there; removed on exit."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from translate.errors import UserError


@contextmanager
def upload_folder() -> Iterator[Path]:
    """A fresh temporary folder, made Gradio's GRADIO_TEMP_DIR (read when gradio is imported, so enter this
    first), removed with everything in it on exit."""
    folder = Path(tempfile.mkdtemp(prefix="translate-ui-"))
    previous = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    try:
        yield folder
    finally:
        if previous is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = previous
        shutil.rmtree(folder, ignore_errors=True)


def uploaded_path(upload) -> Path:
    """The local path of one gr.File upload (a path string, or an object with .name), or a UserError."""
    if upload is None:
        raise UserError("no file: upload an image or a video first")
    path = Path(upload if isinstance(upload, (str, os.PathLike)) else upload.name)
    if not path.is_file():
        raise UserError(f"upload {path.name} did not arrive: upload it again")
    return path
