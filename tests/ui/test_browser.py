"""The page in a real browser (headless Debian chromium driven by Playwright), the way a user uses it.

One server for the module (`python -m translate ui` in a clean working folder, uploads capped at 1 MB):
upscale a clip and download it, read Detect's verdict, read the CLI's error line for bad uploads, start and
stop a training run, and check that closing the page's server leaves nothing but --out behind.
TRANSLATE_UI_SCREENSHOTS=docs also saves a screenshot of each tab there (docs/ui-*.png).
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import page_data
import pytest
from page_data import CLIP_FRAMES
from synthetic import images, swap_red_blue, write_images

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (Debian package chromium)")]
pytest.importorskip("gradio", reason="needs gradio (pip install 'translate[ui]')")
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install playwright)")

# Headless, and quiet on a closed network: no background requests, updates, sync or QUIC.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = os.environ.get("TRANSLATE_UI_SCREENSHOTS")
JOB_TIMEOUT_MS = 180_000

ui_data = page_data.ui_data  # the fixture


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`translate ui` as a child process; its output is collected by a thread so the pipe never fills."""

    def __init__(self, work: Path, weights: Path):
        self.work, self.out, self.tmp = work, work / "ui-output", work / "tmp"
        self.tmp.mkdir()
        self.port = free_port()
        # one torch thread: tiny nets on a shared 2-core machine run fastest that way
        env = {**os.environ, "TRANSLATE_WEIGHTS": str(weights), "TMPDIR": str(self.tmp), "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "translate", "ui", "--port", str(self.port), "--out", "ui-output",
                                      "--max-upload-mb", "1", "--device", "cpu"], cwd=work, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def wait_ready(self, timeout: float = 300) -> None:
        deadline = time.time() + timeout
        while not any("translate ui: serving" in line for line in self.lines):
            assert self.proc.poll() is None, "".join(self.lines)
            assert time.time() < deadline, "the page did not start:\n" + "".join(self.lines)
            time.sleep(0.2)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)


@pytest.fixture(scope="module")
def server(ui_data, tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("ui-work"), ui_data["model"].parent)
    try:
        s.wait_ready()
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def page(server):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        tab.set_default_timeout(60_000)
        tab.goto(server.url)
        tab.wait_for_selector("#translate-run")
        yield tab
        browser.close()


def screenshot(page, name: str) -> None:
    if SCREENSHOTS:
        from PIL import Image

        path = Path(SCREENSHOTS) / f"ui-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        Image.open(path).convert("RGB").quantize(256).save(path, optimize=True)  # a page needs no more colours


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def text_of(page, selector: str) -> str:
    return page.locator(selector).inner_text().strip()


def wait_text(page, selector: str, pattern: str) -> str:
    """Wait until the element's text matches ``pattern``; return the text."""
    page.wait_for_function("([sel, pat]) => new RegExp(pat).test(document.querySelector(sel).innerText)",
                           arg=[selector, pattern], timeout=JOB_TIMEOUT_MS)
    return text_of(page, selector)


def translate_upload(page, path: Path, model: str = "tiny-sr") -> str:
    """Upload ``path`` on the Translate tab, pick the model, run; the status line when the job ends."""
    open_tab(page, "Translate / Upscale")
    upload = page.locator("#translate-upload")
    if upload.locator("button[aria-label='Clear']").count():
        upload.locator("button[aria-label='Clear']").first.click()
    upload.locator("input[type=file]").set_input_files(str(path))
    page.wait_for_function("([sel, name]) => document.querySelector(sel).innerText.includes(name)",
                           arg=["#translate-upload", path.stem])
    page.locator("#translate-model input").click()
    page.get_by_role("option", name=re.compile(model)).first.click()
    before = text_of(page, "#translate-status")
    page.locator("#translate-run").click()
    page.wait_for_function("([sel, old]) => { const t = document.querySelector(sel).innerText.trim();"
                           " return t !== old && (t.startsWith('wrote') || t.startsWith('error:')); }",
                           arg=["#translate-status", before], timeout=JOB_TIMEOUT_MS)
    return text_of(page, "#translate-status")


def test_upscale_a_clip_and_download_it(page, ui_data, tmp_path):
    from translate.video.probe import probe
    from translate.video.reader import decode_audio_pcm

    status = translate_upload(page, ui_data["clip"])
    assert status.startswith(f"wrote clip.mp4: {CLIP_FRAMES} frames, 128x96 at 25 fps, audio copied"), status
    page.locator("#comparison img").first.wait_for()  # the before/after slider is filled
    with page.expect_download() as download:
        page.locator("#translate-download a[download]").first.click()
    got = tmp_path / "downloaded.mp4"
    download.value.save_as(got)
    info = probe(got, scan=True)
    assert info.frame_count == CLIP_FRAMES and (info.width, info.height) == (128, 96) and info.has_audio
    assert np.array_equal(decode_audio_pcm(got), decode_audio_pcm(ui_data["clip"]))  # the audio stream is copied
    screenshot(page, "translate")


def test_bad_uploads_show_the_cli_error_line(page, ui_data, capsys, monkeypatch, tmp_path):
    from conftest import translate_cli

    monkeypatch.chdir(ui_data["dir"])
    for bad, cli_args in (("text", ("video", "text.mp4", "-o", str(tmp_path / "text.mp4"))),
                          ("truncated", ("video", "truncated.mp4", "-o", str(tmp_path / "truncated.mp4"))),
                          ("empty", ("apply", "empty.png", "-o", str(tmp_path / "images")))):
        code, _, err = translate_cli(capsys, *cli_args, "--model", str(ui_data["model"]))
        cli_line = err.strip().splitlines()[-1]
        assert code == 1 and cli_line.startswith("error:")
        assert translate_upload(page, ui_data[bad]) == cli_line


def test_detect_shows_the_verdict_of_the_library(page, ui_data):
    from translate.detect.run import detect

    results, _ = detect([ui_data["photo"]], device="cpu")
    open_tab(page, "Detect")
    page.locator("#detect-upload input[type=file]").set_input_files(str(ui_data["photo"]))
    page.wait_for_function("document.querySelector('#detect-upload').innerText.includes('cat')")
    page.locator("#detect-run").click()
    verdict = wait_text(page, "#detect-verdict", "score")
    assert verdict.startswith(f"{results[0].verdict.upper()} cat.png: score {results[0].score:.3f} (threshold ")
    assert "no provenance tag" in text_of(page, "#detect-provenance")
    page.locator("#detect-evidence img").first.wait_for()  # the evidence sheet is shown
    screenshot(page, "detect")


def test_upload_over_the_limit_is_refused(page, server, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(os.urandom(1536 * 1024))  # the server runs with --max-upload-mb 1
    open_tab(page, "Detect")
    page.locator("#detect-upload input[type=file]").set_input_files(str(big))
    page.get_by_text(re.compile("exceed", re.I)).first.wait_for(timeout=30_000)
    assert not list(server.tmp.rglob("big.png"))  # refused, not stored


def test_train_start_watch_and_stop(page, server, tmp_path):
    write_images(tmp_path / "a", images(6, 24, 1))
    write_images(tmp_path / "b", [swap_red_blue(x) for x in images(6, 24, 2)])
    open_tab(page, "Train")
    page.locator("#train-a textarea, #train-a input").first.fill(str(tmp_path / "a"))
    page.locator("#train-b textarea, #train-b input").first.fill(str(tmp_path / "b"))
    page.locator("#train-name textarea, #train-name input").first.fill("browser-run")
    page.get_by_label("steps").fill("5000")
    page.get_by_label("crop size (px)").fill("16")
    page.get_by_label("more `translate train` options").fill(
        "--load-size 20 --ngf 4 --ndf 4 --netD pixel --netG resnet_6blocks --batch-size 2 --log-every 1 --sample-every 2 "
        "--precision fp32")
    page.locator("#train-start").click()
    page.locator("img[src*='step_']").first.wait_for(timeout=JOB_TIMEOUT_MS)  # a samples/ grid is shown
    page.locator("img[src*='losses']").first.wait_for(timeout=JOB_TIMEOUT_MS)  # and losses.png, during the run
    assert re.search(r"browser-run: training, step \d+: .*cycle_A", text_of(page, "#train-status"))
    screenshot(page, "train")
    page.locator("#train-stop").click()
    outcome = wait_text(page, "#train-outcome", "stopped at step")
    assert "checkpoint saved" in outcome
    assert (server.out / "runs" / "browser-run" / "checkpoints" / "last.pt").is_file()


def test_closing_the_page_removes_uploads_and_wrote_only_out(server, page):
    assert any(f"serving http://127.0.0.1:{server.port}" in line for line in server.lines)  # this machine only
    assert not any("gradio.live" in line for line in server.lines)  # no share link
    uploads = [p for p in server.tmp.iterdir() if p.name.startswith("translate-ui-")]
    assert len(uploads) == 1 and any(uploads[0].rglob("clip.mp4"))
    assert server.stop() == 0
    assert not uploads[0].exists()
    assert sorted(p.name for p in server.work.iterdir()) == ["tmp", "ui-output"]
    assert {p.name for p in server.out.iterdir()} <= {"translate", "detect", "runs"}
