"""`translate eval fid`: FID and KID of a model's translated test set against the target domain.

The `eval` group is cli/eval.py's; it adds ``fid`` from this module to itself.
"""
from __future__ import annotations

import click

from translate.cli.options import batch_size_option, device_option, model_option, quiet_option


@click.command("fid")
@model_option("Translation model: file, run folder or manifest name.")
@click.option("--data", required=True, type=click.Path(), help="Folder of source-domain test images (e.g. testA).")
@click.option("--target", required=True, type=click.Path(), help="Folder of target-domain images (e.g. testB).")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), help="Which generator of a two-way model (default AtoB).")
@click.option("--kid-subsets", default=100, show_default=True, type=click.IntRange(1), help="KID: number of random subsets.")
@click.option("--kid-subset-size", default=1000, show_default=True, type=click.IntRange(2), help="KID: images per subset (capped at the smaller set).")
@batch_size_option(16, "Images per Inception batch.")
@device_option()
@quiet_option()
def fid(model, data, target, direction, kid_subsets, kid_subset_size, batch_size, device, quiet) -> None:
    """FID and KID of MODEL's translations of --data against --target, then one JSON line.

    Protocol: Inception-v3 (TF 2015-12-05 weights, the 'inception-fid' entry, fetched on first use) 2048-d
    pool features, each image resized to 299 px by bilinear interpolation; the model runs in fp32.

    \b
    Example:
      translate eval fid --model runs/cyclegan-horses-zebras --data horse2zebra/testA --target horse2zebra/testB
      translate eval fid --model runs/cyclegan-horses-zebras --data horse2zebra/testB --target horse2zebra/testA --direction BtoA
    """
    from translate.eval.fid_eval import evaluate_fid

    result = evaluate_fid(model, data, target, direction=direction, device=device, batch_size=batch_size,
                          kid_subsets=kid_subsets, kid_subset_size=kid_subset_size, quiet=quiet)
    click.echo(result.table())
    click.echo(result.json_line())
