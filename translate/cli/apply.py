"""`translate apply`: run a model over images and folders."""
from __future__ import annotations

from pathlib import Path

import click


@click.command("apply")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--model", "-m", required=True, metavar="MODEL", help="Model file, run folder or manifest name (see 'translate weights list').")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Output folder (folder inputs are mirrored inside it).")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), help="For two-generator models (CycleGAN, DiscoGAN, faceswap).")
@click.option("--batch-size", default=4, show_default=True, type=click.IntRange(1))
@click.option("--device", default="auto", show_default=True)
@click.option("--precision", default="auto", show_default=True, type=click.Choice(["auto", "fp32", "bf16", "fp16"]))
@click.option("--tile", default=0, show_default=True, type=click.IntRange(0), help="Process large images in tiles of this size (0 = whole image).")
@click.option("--tile-pad", default=10, show_default=True, type=click.IntRange(0), help="Context pixels around each tile.")
@click.option("--format", "fmt", type=click.Choice(["png", "jpg", "webp"]), default="png", show_default=True)
@click.option("--quality", default=95, show_default=True, type=click.IntRange(1, 100), help="JPEG/WebP quality.")
@click.option("--overwrite", is_flag=True, help="Replace outputs that already exist.")
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the model (pays off on GPUs for many images).")
def apply(inputs, model, out, direction, batch_size, device, precision, tile, tile_pad, fmt, quality, overwrite,
          compile_) -> None:
    """Translate images or whole folders with a trained model.

    \b
    Examples:
      translate apply photo.jpg --model runs/cyclegan-horses-zebras -o out/
      translate apply photos/ --model runs/cyclegan-horses-zebras --direction BtoA -o out/
      translate apply photo.jpg --model srgan -o big/
    """
    from translate.apply_images import apply_to_images
    from translate.infer import Translator

    translator = Translator(model, direction=direction, device=device, precision=precision,
                            batch_size=batch_size, tile=tile, tile_pad=tile_pad, compile=compile_)
    result = apply_to_images(translator, list(inputs), Path(out), fmt=fmt, overwrite=overwrite, quality=quality)
    click.echo(f"wrote {result['written']} image(s) to {result['out']}" +
               (f" ({result['skipped']} unreadable skipped)" if result["skipped"] else ""))
