"""The page: Gradio Blocks with the Translate / Upscale, Detect and Train tabs, wired to the page-free jobs.

Layout and wiring only. Each handler calls one job function (translate_job, detect_job, train_job) and turns a
UserError into the CLI's one-line "error: ..." in the tab's status line, never a traceback.
"""
from __future__ import annotations

import functools
import os
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from translate.detect.report import TABLE_HEADER
from translate.errors import UserError
from translate.ui.detect_job import run_detect
from translate.ui.models import model_choices
from translate.ui.train_job import TrainJobs, two_folder_methods
from translate.ui.translate_job import available_flags, run_translate
from translate.ui.uploads import uploaded_path

DIRECTIONS = [("the model's default", ""), ("AtoB", "AtoB"), ("BtoA", "BtoA")]
HAS_SLIDER = hasattr(gr, "ImageSlider")  # Gradio 5+; older pages show before and after side by side


def error_line(e: BaseException) -> str:
    """The CLI's one line for a user error; a short line (traceback on the console) for anything else.

    An upload's path inside the temporary folder is shown as its file name, as the user knows it.
    """
    if isinstance(e, UserError):
        line = f"error: {e}"
    else:
        traceback.print_exception(e, file=sys.stderr)
        line = f"error: {type(e).__name__}: {e}"
    uploads = os.environ.get("GRADIO_TEMP_DIR")
    return re.sub(re.escape(uploads.rstrip(os.sep) + os.sep) + r"[^/\\\s]+[/\\]", "", line) if uploads else line


def guarded(handler: Callable, n_outputs: int) -> Callable:
    """``handler``'s outputs, the status line first (or alone); on an error, that line and empty outputs."""
    @functools.wraps(handler)  # keeps the signature, whose gr.Progress default Gradio looks for
    def run(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - every error becomes the status line
            return error_line(e) if n_outputs == 1 else [error_line(e), *[None] * (n_outputs - 1)]

    return run


def comparison() -> list:
    """Before/after: an ImageSlider where Gradio has one, else two images side by side."""
    if HAS_SLIDER:
        return [gr.ImageSlider(label="before / after", type="numpy", elem_id="comparison")]
    with gr.Row():
        return [gr.Image(label="before", type="numpy"), gr.Image(label="after", type="numpy")]


def comparison_values(before, after) -> list:
    return [(before, after)] if HAS_SLIDER else [before, after]


def build_page(out_dir: Path, run_roots: list[Path], device: str = "auto", theme=None) -> gr.Blocks:
    jobs = TrainJobs(out_dir / "runs")
    roots = [out_dir / "runs", *[r for r in run_roots if r != out_dir / "runs"]]

    def choices():
        return [(c.label, c.value) for c in model_choices(roots)]

    with gr.Blocks(title="translate", analytics_enabled=False, **({"theme": theme} if theme else {})) as page:
        gr.Markdown("## translate\nTranslate or upscale images and videos, flag generated content, train models. "
                    f"Results go to `{out_dir}`.")
        with gr.Tab("Translate / Upscale", id="translate"):
            translate_tab(choices, out_dir, device)
        with gr.Tab("Detect", id="detect"):
            detect_tab(out_dir, device)
        with gr.Tab("Train", id="train"):
            train_tab(jobs)
    return page


def translate_tab(choices: Callable, out_dir: Path, device: str) -> None:
    with gr.Row():
        with gr.Column():
            upload = gr.File(label="image or video", file_count="single", elem_id="translate-upload")
            with gr.Row():
                model = gr.Dropdown(choices(), label="model (task, directions, scale)", elem_id="translate-model", scale=4)
                refresh = gr.Button("refresh list", scale=1)
            direction = gr.Dropdown(DIRECTIONS, value="", label="direction")
            flags = gr.CheckboxGroup([(label, name) for name, label in available_flags().items()],
                                     label="video options", elem_id="translate-flags")
            go = gr.Button("Translate", variant="primary", elem_id="translate-run")
        with gr.Column():
            status = gr.Markdown(elem_id="translate-status")
            compare = comparison()
            video = gr.Video(label="result", interactive=False)
            download = gr.File(label="download", interactive=False, elem_id="translate-download")

    def translate(upload, model, direction, flags, progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="loading")
        result = run_translate(uploaded_path(upload), model, direction or None, {f: True for f in flags or []},
                               out_dir, device)
        return [result.summary, *comparison_values(result.before, result.after),
                str(result.output) if result.kind == "video" else None, str(result.output)]

    outputs = [status, *compare, video, download]
    go.click(guarded(translate, len(outputs)), [upload, model, direction, flags], outputs)
    refresh.click(lambda: gr.Dropdown(choices=choices()), None, model)


def detect_tab(out_dir: Path, device: str) -> None:
    with gr.Row():
        with gr.Column():
            uploads = gr.File(label="images or a video", file_count="multiple", elem_id="detect-upload")
            every = gr.Number(0, label="score every N-th video frame (0: 16 frames spread over the video)",
                              precision=0, minimum=0)
            go = gr.Button("Detect", variant="primary", elem_id="detect-run")
        with gr.Column():
            verdict = gr.Markdown(elem_id="detect-verdict")
            provenance = gr.Markdown(elem_id="detect-provenance")
            table = gr.Dataframe(headers=list(TABLE_HEADER), label="per file", interactive=False)
            plot = gr.Image(label="per-frame scores", type="filepath", interactive=False)
            evidence = gr.Gallery(label="evidence sheets (most suspicious frames)", interactive=False, elem_id="detect-evidence")
            report = gr.File(label="JSON report", interactive=False)

    def detect(uploads, every, progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="loading the detector")
        paths = [uploaded_path(u) for u in uploads or []]
        r = run_detect(paths, out_dir, every=int(every or 0) or None, device=device)
        return [r.headline, r.provenance, r.rows, str(r.plot) if r.plot else None,
                [str(p) for p in r.evidence], str(r.report)]

    outputs = [verdict, provenance, table, plot, evidence, report]
    go.click(guarded(detect, len(outputs)), [uploads, every], outputs)


def train_tab(jobs: TrainJobs) -> None:
    methods = two_folder_methods()
    with gr.Row():
        with gr.Column():
            method = gr.Dropdown(methods, value=methods[0], label="method")
            a = gr.Textbox(label="folder A: a path on this machine (--a; the real images for detector)", elem_id="train-a")
            b = gr.Textbox(label="folder B (--b; the generated images for detector)", elem_id="train-b")
            name = gr.Textbox("ui-run", label=f"run name (under {jobs.runs})", elem_id="train-name")
            with gr.Row():
                steps = gr.Number(1000, label="steps", precision=0, minimum=1)
                size = gr.Number(256, label="crop size (px)", precision=0, minimum=8)
            more = gr.Textbox(label="more `translate train` options", placeholder="--netG resnet_6blocks --sample-every 50")
            with gr.Row():
                start = gr.Button("Start", variant="primary", elem_id="train-start")
                stop = gr.Button("Stop (saves a checkpoint)", variant="stop", elem_id="train-stop")
                resume = gr.Button("Resume", elem_id="train-resume")
        with gr.Column():
            status = gr.Markdown(elem_id="train-status")
            outcome = gr.Markdown(elem_id="train-outcome")  # the run's progress bar (ETA) while it trains, then how it ended
            sample = gr.Image(label="latest samples/ grid", type="filepath", interactive=False)
            losses = gr.Image(label="losses.png", type="filepath", interactive=False)

    def train(method, a, b, name, steps, size, more, progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="starting")
        return jobs.train(method, a, b, name, int(steps), int(size), more)

    def resume_run(method, a, b, name, steps, size, more, progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="resuming")
        return jobs.train(method, a, b, name, int(steps), int(size), more, resume=True)

    def watch(name):
        view = jobs.view(name)
        return view.status, str(view.sample) if view.sample else None, str(view.losses) if view.losses else None

    form = [method, a, b, name, steps, size, more]
    start.click(guarded(train, 1), form, [outcome])
    resume.click(guarded(resume_run, 1), form, [outcome])
    stop.click(lambda name: jobs.stop(name), [name], [outcome], queue=False)
    gr.Timer(2.0).tick(watch, [name], [status, sample, losses], show_progress="hidden")
