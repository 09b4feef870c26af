"""`translate chain`: an ad-hoc chain of stages, e.g. read IN translate --model M write OUT."""
from __future__ import annotations

import click

from translate.cli.options import (
    batch_size_option,
    device_option,
    model_option,
    overwrite_option,
    precision_option,
    quiet_option,
)
from translate.cli.video import (
    CODECS,
    PRESETS,
    echo_summary,
    translate_options,
    warnings_to_stderr,
)


@click.group("chain", chain=True)
@overwrite_option("Replace OUT if it exists.")
@quiet_option()
def chain(overwrite, quiet) -> None:
    """Stream a video through stages given in order: read IN, then stages, then write OUT.

    Each stage returns its spec; the chain runs with the same runner as `translate video`.

    \b
    Examples:
      translate chain read in.mp4 translate --model srgan write out.mp4
      translate chain --overwrite read in.mp4 --start 5 --end 10 translate --model srgan --tile 256 write --codec ffv1 out.mkv
      translate chain read in.mp4 faces translate --model runs/faceswap-alice-bob blend write out.mp4
      translate chain read in.mp4 translate --model runs/cyclegan-h2z stabilize --strength 0.6 write out.mp4
    """


@chain.result_callback()
def run_stages(stages, overwrite, quiet) -> None:
    from translate.video.runner import run_chain

    warnings_to_stderr()
    echo_summary(run_chain(list(stages), progress=not quiet, overwrite=overwrite or None))


@chain.command("read")
@click.argument("input", metavar="IN", type=click.Path(dir_okay=False))
@batch_size_option(4, help="Frames per batch.")
@click.option("--start", metavar="TIME", help="Start at this time (seconds or [HH:]MM:SS).")
@click.option("--end", metavar="TIME", help="Stop at this time.")
def read(input, batch_size, start, end):
    """Decode IN (first stage)."""
    return "read", {"path": input, "batch_size": batch_size, "start": start, "end": end}


@chain.command("translate")
@model_option()
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]))
@device_option()
@precision_option()
@batch_size_option(4)
@click.option("--tile", default=0, show_default=True, type=click.IntRange(0))
@click.option("--tile-pad", default=10, show_default=True, type=click.IntRange(0))
def translate_(model, direction, device, precision, batch_size, tile, tile_pad):
    """Run a model on whole frames (or on face crops after a faces stage)."""
    return "translate", translate_options(model, direction, device, precision, batch_size, tile, tile_pad)


@chain.command("faces")
@click.option("--landmarks", default="auto", show_default=True, type=click.Choice(["auto", "dlib", "fan"]))
@click.option("--size", type=click.IntRange(16), help="Crop size. Default: the next translate stage's model's.")
@click.option("--centering", type=click.Choice(["legacy", "face", "head"]), help="Crop framing. Default: the model's.")
@click.option("--face-index", "face_index", type=click.IntRange(0), help="Only the face with this track id.")
@click.option("--alignments", type=click.Path(dir_okay=False), help="alignments.json from `faces extract` instead of detecting.")
@device_option()
def faces_(landmarks, size, centering, face_index, alignments, device):
    """Find, track and align faces (translate then works on the crops)."""
    return "faces", {"landmarks": landmarks, "size": size, "centering": centering, "face_index": face_index,
                     "alignments": alignments, "device": device}


@chain.command("blend")
@click.option("--mask", default="components", show_default=True, type=click.Choice(["components", "extended"]))
@click.option("--colour", default="mean", show_default=True, type=click.Choice(["mean", "reinhard", "hist", "none"]))
@click.option("--seamless", is_flag=True, help="Poisson blending instead of the feathered mask.")
def blend_(mask, colour, seamless):
    """Paste translated faces back into their frames."""
    return "blend", {"mask": mask, "colour": colour, "seamless": seamless}


@chain.command("stabilize")
@click.option("--strength", default=0.6, show_default=True, type=click.FloatRange(0, 1, max_open=True),
              help="The most weight the warped previous output gets (0 = off).")
def stabilize_(strength):
    """Less flicker: blend the previous output, warped by the input's flow, where it is reliable (after translate)."""
    return "stabilize", {"strength": strength}


@chain.command("write")
@click.argument("output", metavar="OUT", type=click.Path(dir_okay=False))
@click.option("--codec", default="h264", show_default=True, type=click.Choice(CODECS))
@click.option("--crf", default=18, show_default=True, type=click.IntRange(0, 51))
@click.option("--preset", default="medium", show_default=True, type=click.Choice(PRESETS))
@click.option("--no-audio", is_flag=True, help="Do not copy the source's audio.")
def write(output, codec, crf, preset, no_audio):
    """Encode to OUT with the source's audio (last stage)."""
    return "write", {"path": output, "codec": codec, "crf": crf, "preset": preset, "audio": not no_audio}
