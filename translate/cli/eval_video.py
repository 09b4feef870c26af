"""`translate eval video`: how much a processed video flickers (warping error, Lai et al. 2018)."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("video")
@click.argument("input", metavar="IN", type=click.Path(dir_okay=False))
@click.argument("output", metavar="OUT", type=click.Path(dir_okay=False))
@click.option("--reference", metavar="REF", type=click.Path(dir_okay=False),
              help="Also give mean PSNR/SSIM of OUT against REF (same size and frame count as OUT).")
@click.option("--flow", default="auto", show_default=True, type=click.Choice(["auto", "dis", "raft"]),
              help="Optical flow: OpenCV DIS, or torchvision RAFT when its weights are in the torch hub cache (auto).")
@click.option("--json", "json_path", metavar="FILE", type=click.Path(dir_okay=False), help="Also write the JSON to FILE.")
def video(input: str, output: str, reference: str | None, flow: str, json_path: str | None) -> None:
    """Warping error of OUT (a processed copy of IN) and of IN itself, then one JSON line.

    The flow is computed on IN (consecutive frames, both ways); pixels that fail the forward-backward check
    are left out; E_warp is the mean squared RGB difference (0..1, summed over channels) between each output
    frame and the previous one warped onto it. Lower is steadier; ratio = E_warp(OUT) / E_warp(IN).

    \b
    Examples:
      translate eval video in.mp4 out.mp4
      translate eval video in.mp4 out.mp4 --reference framewise.mp4 --json flicker.json
    """
    from translate.eval.warp import evaluate_video, json_line

    result = evaluate_video(input, output, reference=reference, flow=flow)
    click.echo(result.table())
    line = json_line(result)
    if json_path:
        Path(json_path).write_text(line + "\n")
    click.echo(line)
