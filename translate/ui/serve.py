"""Serve the page: 127.0.0.1 unless told otherwise, never a share link, no analytics, uploads size-limited
into a temporary folder that is removed on exit."""
from __future__ import annotations

import inspect
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from translate.ui.uploads import upload_folder


@dataclass
class ServeConfig:
    port: int = 7860
    host: str = "127.0.0.1"
    out: Path = Path("ui-output")
    max_upload_mb: int = 500
    device: str = "auto"
    run_roots: list[Path] = field(default_factory=lambda: [Path("runs")])  # where the model list finds run folders


def local_theme():
    """Gradio's default look with the system's fonts: the page fetches nothing from the web."""
    import gradio as gr

    return gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def serve(cfg: ServeConfig) -> None:
    """Block serving the page until Ctrl-C or SIGTERM; the upload folder is removed either way."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # read when gradio is imported
    out = Path(cfg.out).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # unwinds like Ctrl-C, so the cleanup below runs
    with upload_folder():
        import gradio as gr

        from translate.ui.page import build_page

        theme_at_launch = "theme" in inspect.signature(gr.Blocks.launch).parameters  # Gradio 6 moved it there
        page = build_page(out, cfg.run_roots, cfg.device, theme=None if theme_at_launch else local_theme())
        page.queue(default_concurrency_limit=1)
        page.launch(server_name=cfg.host, server_port=cfg.port, share=False, inbrowser=False, show_error=True,
                    max_file_size=cfg.max_upload_mb * 1024 * 1024, allowed_paths=[str(out)], quiet=True,
                    prevent_thread_lock=True, **({"theme": local_theme()} if theme_at_launch else {}))
        print(f"translate ui: serving {page.local_url} (Ctrl-C to stop); results go to {out}", flush=True)
        page.block_thread()
