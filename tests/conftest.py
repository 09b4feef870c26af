"""Shared fixtures: tests make their own data (see synthetic.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))  # tests/synthetic.py


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running test")
    config.addinivalue_line("markers", "gpu: needs CUDA (skipped without it)")
    config.addinivalue_line("markers", "realdata: needs ../shared/data (skipped without it, as in a user's clone)")
    config.addinivalue_line("markers", "browser: drives the web page in headless /usr/bin/chromium (skipped without it)")
    config.addinivalue_line("markers", "network: downloads a PyPI wheel once (tests/real_wheels.py); skips when no registry is reachable")


# Real public data for checks on real content (../shared/data beside the clone); a user's clone has none.
SHARED_DATA = Path(os.environ.get("TRANSLATE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def pytest_collection_modifyitems(config, items):
    import torch

    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    skip_data = pytest.mark.skip(reason=f"needs the shared real data at {SHARED_DATA}")
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)
        if "realdata" in item.keywords and not SHARED_DATA.is_dir():
            item.add_marker(skip_data)


def sigint_as_in_a_terminal() -> None:
    """preexec_fn for a child that will get Ctrl-C. A shell that starts jobs in the background without job
    control (nohup, `cmd &` in a script) hands them SIGINT *ignored*, and Python then never raises
    KeyboardInterrupt; a terminal's Ctrl-C reaches a process whose SIGINT is the default. Set that back."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def shared_data() -> Path:
    """The folder of real public data (tests using it are marked realdata, so they skip when it is absent)."""
    return SHARED_DATA


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m translate ARGS` as a user would; returns the completed process (text output)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "translate", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def isolated_weight_dirs(tmp_path, monkeypatch):
    """Isolated $TRANSLATE_WEIGHTS, user cache and torch hub folders (none created)."""
    d = {"env": tmp_path / "env", "cache": tmp_path / "xdg", "torch": tmp_path / "torch"}
    monkeypatch.setenv("TRANSLATE_WEIGHTS", str(d["env"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(d["cache"]))
    monkeypatch.setenv("TORCH_HOME", str(d["torch"]))
    return d


def translate_cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process, as `translate ARGS`; returns (exit code, stdout, stderr)."""
    from translate.cli.main import main

    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def one_torch_thread():
    """Tiny nets run fastest on one thread; two threads on a busy 2-core machine spin and wait."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


FFMPEG_NAMES = ("ffmpeg", "ffprobe")


@pytest.fixture(scope="session")
def path_without_system_ffmpeg(tmp_path_factory) -> str:
    """$PATH with each folder that holds ffmpeg/ffprobe swapped for a folder of links to everything else in it."""
    parts = []
    for i, folder in enumerate(os.environ.get("PATH", "").split(os.pathsep)):
        if not any(os.path.exists(os.path.join(folder, name)) for name in FFMPEG_NAMES):
            parts.append(folder)
            continue
        links = tmp_path_factory.mktemp(f"path{i}-without-ffmpeg")
        for entry in os.scandir(folder):
            if entry.name not in FFMPEG_NAMES:
                (links / entry.name).symlink_to(entry.path)
        parts.append(str(links))
    return os.pathsep.join(parts)


@pytest.fixture
def imageio_ffmpeg_only(monkeypatch, path_without_system_ffmpeg) -> str:
    """Hide the system ffmpeg and ffprobe (as on a pip-only install): only imageio-ffmpeg's binary is found,
    and there is no ffprobe. Returns that binary."""
    from translate.video import ffmpeg as ff

    def forget():  # locators that cache what they found must look again
        for locate in (ff.find_ffmpeg, ff.find_ffprobe):
            getattr(locate, "cache_clear", lambda: None)()

    monkeypatch.setenv("PATH", path_without_system_ffmpeg)
    monkeypatch.delenv("TRANSLATE_FFMPEG", raising=False)
    forget()
    exe = ff.find_ffmpeg()
    assert "imageio_ffmpeg" in exe and ff.find_ffprobe() is None, exe
    yield exe
    forget()  # PATH itself is restored by monkeypatch after this
