"""Small Click helpers shared by commands."""
from __future__ import annotations

import click
from click.core import ParameterSource


def explicit_values(ctx: click.Context) -> dict:
    """The parameters the user typed (not defaults), by parameter name."""
    return {name: value for name, value in ctx.params.items()
            if ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)}


# Options several commands share: each is defined once here, so a command adds one with one line
# and they read the same everywhere. Each returns a Click decorator.
PRECISIONS = ["auto", "fp32", "bf16", "fp16"]
MODEL_HELP = "Model file, run folder or manifest name (see 'translate weights list')."
DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps."
PRECISION_HELP = ("auto: bf16/fp16 autocast where the hardware is faster with it, else fp32 (with Winograd 3x3 "
                  "convs on CPU); fp32: plain arithmetic.")


def model_option(help: str = MODEL_HELP, default: str | None = None):
    """--model/-m: a model file, run folder or manifest name; required unless it has a default."""
    return click.option("--model", "-m", required=default is None, default=default, show_default=default is not None,
                        metavar="MODEL", help=help)


def device_option(help: str = DEVICE_HELP):
    return click.option("--device", default="auto", show_default=True, help=help)


def precision_option(help: str = PRECISION_HELP):
    return click.option("--precision", default="auto", show_default=True, type=click.Choice(PRECISIONS), help=help)


def batch_size_option(default: int = 4, help: str | None = None):
    return click.option("--batch-size", default=default, show_default=True, type=click.IntRange(1), help=help)


def quiet_option():
    return click.option("--quiet", "-q", is_flag=True,
                        help="No progress bar (when stderr is not a terminal it is one plain line every few seconds).")


def overwrite_option(help: str = "Replace outputs that already exist."):
    return click.option("--overwrite", is_flag=True, help=help)


def output_option(help: str, folder: bool = False, required: bool = False, long: str = "--output",
                  metavar: str | None = None):
    """-o: an output file (or ``folder``); optional where the command names a default beside the input."""
    return click.option("-o", long, required=required, metavar=metavar or ("DIR" if folder else "OUT"),
                        type=click.Path(file_okay=not folder, dir_okay=folder), help=help)


def face_detection_options(scope: str = ""):
    """--detector, --landmarks, --reference-face, --reference-threshold: how faces are found and whose are kept.

    ``scope`` prefixes the help (e.g. "--faces: ") where the options only apply with another flag."""
    from translate.faces.landmarks import BACKENDS, DETECTORS

    options = [
        click.option("--detector", "detector", default="auto", show_default=True, type=click.Choice(DETECTORS),
                     help=f"{scope}face boxes: retinaface (fetched on first use), dlib (HOG, offline), sfd "
                          "(face-alignment's, needs its file); auto: retinaface when fetched, else the landmark "
                          "model's own detector."),
        click.option("--landmarks", "landmarks", default="auto", show_default=True, type=click.Choice(BACKENDS),
                     help=f"{scope}68-point landmark model: dlib (offline), fan (face-alignment, needs its "
                          "weights); auto: fan when its weights are at hand, else dlib."),
        click.option("--reference-face", "reference_face", type=click.Path(dir_okay=False), metavar="IMG",
                     help=f"{scope}only the person in this photo (dlib face recognition); other faces are left "
                          "untouched."),
        click.option("--reference-threshold", "reference_threshold", default=0.6, show_default=True,
                     type=click.FloatRange(0, min_open=True),
                     help=f"{scope}identity distance below which a face is the reference person."),
    ]

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command
    return decorate
