"""`translate apply`: run a model over images and folders."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from translate.cli.options import (
    batch_size_option,
    device_option,
    model_option,
    output_option,
    overwrite_option,
    precision_option,
    quiet_option,
)


@click.command("apply")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@model_option()
@output_option("Output folder (folder inputs are mirrored inside it). Default: beside each input, named after the "
               "model: photo.<model>.png, photos.<model>/.", folder=True, long="--out")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), help="For two-generator models (CycleGAN, DiscoGAN, faceswap).")
@batch_size_option(4)
@device_option()
@precision_option()
@click.option("--tile", default=0, show_default=True, type=click.IntRange(0), help="Process large images in tiles of this size (0 = whole image).")
@click.option("--tile-pad", default=10, show_default=True, type=click.IntRange(0), help="Context pixels around each tile.")
@click.option("--format", "fmt", type=click.Choice(["png", "jpg", "webp"]), default="png", show_default=True)
@click.option("--quality", default=95, show_default=True, type=click.IntRange(1, 100), help="JPEG/WebP quality.")
@overwrite_option()
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the model (pays off on GPUs for many images).")
@quiet_option()
def apply(inputs, model, out, direction, batch_size, device, precision, tile, tile_pad, fmt, quality, overwrite,
          compile_, quiet) -> None:
    """Translate images or whole folders with a trained model.

    A file named here that cannot be read is one error line (the others are still written, the exit code is 1);
    unreadable files inside a folder are skipped and counted.

    \b
    Examples:
      translate apply photo.jpg --model runs/cyclegan-horses-zebras          # -> photo.cyclegan-horses-zebras.png
      translate apply photos/ --model runs/cyclegan-horses-zebras --direction BtoA -o out/
      translate apply photo.jpg --model srgan -o big/
    """
    from translate.apply_images import apply_to_images
    from translate.infer import Translator

    translator = Translator(model, direction=direction, device=device, precision=precision,
                            batch_size=batch_size, tile=tile, tile_pad=tile_pad, compile=compile_)
    result = apply_to_images(translator, list(inputs), Path(out) if out else None, fmt=fmt, overwrite=overwrite,
                             quality=quality, model=model, quiet=quiet)
    outcome = result["outcome"]
    if result["written"]:
        click.echo(f"wrote {result['written']} image(s) to {result['out']}" +
                   (f" ({result['skipped']} unreadable skipped)" if result["skipped"] else ""))
    for line in outcome.stderr_lines():
        click.echo(line, err=True)
    if outcome.exit_code:
        sys.exit(outcome.exit_code)
