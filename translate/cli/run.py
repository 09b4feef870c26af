"""`translate run`: run a saved chain of stages (a YAML pipeline) over a video."""
from __future__ import annotations

import click

from translate.cli.options import output_option, overwrite_option, quiet_option
from translate.cli.video import echo_summary, warnings_to_stderr


@click.command("run")
@click.argument("pipeline", metavar="PIPELINE")
@click.argument("input", metavar="IN", type=click.Path(dir_okay=False))
@output_option("Output video.", required=True)
@click.option("--set", "overrides", multiple=True, metavar="STAGE.OPTION=VALUE", help="Change an option of a stage (repeatable), e.g. translate.tile=256.")
@overwrite_option("Replace OUT if it exists.")
@quiet_option()
def run(pipeline, input, output, overrides, overwrite, quiet) -> None:
    """Run PIPELINE (a YAML file, or a shipped one by name: upscale) over IN.

    The YAML lists stages in order, read first and write last; IN and OUT fill in read's and write's path.

    \b
    Examples:
      translate run upscale in.mp4 -o out.mp4
      translate run translate/pipelines/upscale.yaml in.mp4 -o out.mp4 --set translate.model=runs/sr --set write.crf=16
    """
    from translate.video.pipelines import load_pipeline
    from translate.video.runner import run_chain

    warnings_to_stderr()
    chain = load_pipeline(pipeline, list(overrides))
    chain[0][1]["path"] = input
    chain[-1][1]["path"] = output
    echo_summary(run_chain(chain, progress=not quiet, overwrite=overwrite))
