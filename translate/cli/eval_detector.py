"""`translate eval detector`: AUC, AP and accuracy of a detect model, per source folder.

The `eval` group is cli/eval.py's; it adds ``detector`` from this module to itself.
"""
from __future__ import annotations

import click

from translate.cli.options import device_option, model_option, quiet_option


@click.command("detector")
@model_option("Detect model: file, run folder or manifest name.", default="detector")
@click.option("--real", "real", required=True, multiple=True, type=click.Path(), help="Folder of real images or videos (repeatable).")
@click.option("--fake", "fake", required=True, multiple=True, type=click.Path(), help="Folder of generated ones (repeatable; each subfolder is its own row).")
@click.option("--faces", is_flag=True, help="Score face crops where faces are found.")
@click.option("--every", default=1, show_default=True, type=click.IntRange(1), help="Score every N-th frame of videos.")
@device_option()
@quiet_option()
def detector(model, real, fake, faces, every, device, quiet) -> None:
    """Measure a detector on labelled folders: one row per source folder, then all together.

    \b
    Example:
      translate eval detector --model detector --real photos/ --fake generated/
    """
    from translate.detect.evaluate import evaluate, format_evaluation
    from translate.detect.run import FaceFinder
    from translate.detect.scorer import Scorer

    scorer = Scorer(model, device=device)
    finder = FaceFinder("auto", device) if faces else None
    click.echo(format_evaluation(evaluate(scorer, list(real), list(fake), every, finder, progress=not quiet)))

