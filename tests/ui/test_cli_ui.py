"""`translate ui` as a command, and the page's upload folder (no server started here)."""
from __future__ import annotations

import os

import pytest
from conftest import translate_cli

from translate.ui.uploads import upload_folder, uploaded_path


def test_help_names_the_safe_defaults(capsys):
    code, out, _ = translate_cli(capsys, "ui", "--help")
    assert code == 0 and "[default: 127.0.0.1]" in out and "--max-upload-mb" in out


def test_without_gradio_one_error_line(capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else real(name, *a))
    code, _, err = translate_cli(capsys, "ui")
    assert code == 1 and err.strip() == "error: translate ui needs Gradio: pip install 'translate[ui]' (or pip install 'gradio>=4.40')"


def test_upload_folder_is_gradios_temp_dir_and_is_removed_even_on_error(monkeypatch):
    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    with pytest.raises(RuntimeError), upload_folder() as folder:
        assert os.environ["GRADIO_TEMP_DIR"] == str(folder)
        (folder / "sub").mkdir()
        (folder / "sub" / "clip.mp4").write_bytes(b"x")
        assert uploaded_path(str(folder / "sub" / "clip.mp4")).name == "clip.mp4"
        raise RuntimeError("the server died")
    assert not folder.exists() and "GRADIO_TEMP_DIR" not in os.environ


def test_missing_upload_is_a_user_error(tmp_path):
    from translate.errors import UserError

    with pytest.raises(UserError, match="upload an image or a video first"):
        uploaded_path(None)
    with pytest.raises(UserError, match="did not arrive"):
        uploaded_path(str(tmp_path / "gone.mp4"))
