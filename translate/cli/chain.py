"""`translate chain`: an ad-hoc chain of stages, e.g. read IN translate --model M write OUT."""
from __future__ import annotations

import click

from translate.cli.video import CODECS, PRECISIONS, PRESETS, echo_summary, translate_options, warnings_to_stderr


@click.group("chain", chain=True)
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def chain(overwrite, quiet) -> None:
    """Stream a video through stages given in order: read IN, then stages, then write OUT.

    Each stage returns its spec; the chain runs with the same runner as `translate video`.

    \b
    Examples:
      translate chain read in.mp4 translate --model srgan write out.mp4
      translate chain --overwrite read in.mp4 --start 5 --end 10 translate --model srgan --tile 256 write out.mkv --codec ffv1
    """


@chain.result_callback()
def run_stages(stages, overwrite, quiet) -> None:
    from translate.pipeline import run_chain

    warnings_to_stderr()
    echo_summary(run_chain(list(stages), progress=not quiet, overwrite=overwrite or None))


@chain.command("read")
@click.argument("input", metavar="IN", type=click.Path(dir_okay=False))
@click.option("--batch-size", default=4, show_default=True, type=click.IntRange(1), help="Frames per batch.")
@click.option("--start", metavar="TIME", help="Start at this time (seconds or [HH:]MM:SS).")
@click.option("--end", metavar="TIME", help="Stop at this time.")
def read(input, batch_size, start, end):
    """Decode IN (first stage)."""
    return "read", {"path": input, "batch_size": batch_size, "start": start, "end": end}


@chain.command("translate")
@click.option("--model", "-m", required=True, metavar="MODEL", help="Model file, run folder or manifest name.")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]))
@click.option("--device", default="auto", show_default=True)
@click.option("--precision", default="auto", show_default=True, type=click.Choice(PRECISIONS))
@click.option("--batch-size", default=4, show_default=True, type=click.IntRange(1))
@click.option("--tile", default=0, show_default=True, type=click.IntRange(0))
@click.option("--tile-pad", default=10, show_default=True, type=click.IntRange(0))
def translate_(model, direction, device, precision, batch_size, tile, tile_pad):
    """Run a model on whole frames (or on face crops after a faces stage)."""
    return "translate", translate_options(model, direction, device, precision, batch_size, tile, tile_pad)


@chain.command("write")
@click.argument("output", metavar="OUT", type=click.Path(dir_okay=False))
@click.option("--codec", default="h264", show_default=True, type=click.Choice(CODECS))
@click.option("--crf", default=18, show_default=True, type=click.IntRange(0, 51))
@click.option("--preset", default="medium", show_default=True, type=click.Choice(PRESETS))
@click.option("--no-audio", is_flag=True, help="Do not copy the source's audio.")
def write(output, codec, crf, preset, no_audio):
    """Encode to OUT with the source's audio (last stage)."""
    return "write", {"path": output, "codec": codec, "crf": crf, "preset": preset, "audio": not no_audio}
