"""`translate ui`: serve the local web page (Translate / Upscale, Detect, Train)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import click

from translate.errors import UserError


@click.command("ui")
@click.option("--port", default=7860, show_default=True, type=click.IntRange(1, 65535), help="Port to serve on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. The default is this machine only; 0.0.0.0 exposes the page to your network.")
@click.option("--out", default="ui-output", show_default=True, type=click.Path(file_okay=False),
              help="Folder for every result and run the page makes (runs under OUT/runs/).")
@click.option("--max-upload-mb", default=500, show_default=True, type=click.IntRange(1), help="Largest upload accepted.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
def ui(port, host, out, max_upload_mb, device) -> None:
    """Serve a local web page to translate, upscale, detect and train, with progress and before/after views.

    Uploads go to a temporary folder removed on exit; results go under --out. No share link, no analytics.

    \b
    Examples:
      translate ui                      # then open http://127.0.0.1:7860
      translate ui --port 8080 --out ~/translate-results
    """
    if importlib.util.find_spec("gradio") is None:
        raise UserError("translate ui needs Gradio: pip install 'translate[ui]' (or pip install 'gradio>=4.40')")
    from translate.ui.serve import ServeConfig, serve

    serve(ServeConfig(port=port, host=host, out=Path(out), max_upload_mb=max_upload_mb, device=device))
