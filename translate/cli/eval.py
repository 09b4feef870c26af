"""`translate eval sr`: a super-resolution model against bicubic (PSNR/SSIM on Y, as SR papers report them)."""
from __future__ import annotations

import click


@click.group("eval")
def eval_group() -> None:
    """Measure a model on held-out or labelled data.

    \b
    Example:
      translate eval sr --model srgan --data Set5/
    """


@eval_group.command("sr")
@click.option("--model", "-m", required=True, metavar="MODEL", help="Super-resolution model: file, run folder or name (e.g. srgan).")
@click.option("--data", required=True, type=click.Path(), help="Folder of high-resolution images; LR inputs are made by bicubic downscaling unless --lr is given.")
@click.option("--lr", "lr_dir", type=click.Path(), default=None,
              help="Folder of the LR inputs paired with --data by file name (same name, or HR swapped for LR: "
                   "img_001_SRF_4_HR.png / img_001_SRF_4_LR.png); may be the --data folder itself.")
@click.option("--scale", type=int, help="Check that the model up-scales by this factor (default: the model's).")
@click.option("--device", default="auto", show_default=True)
@click.option("--tile", default=0, show_default=True, type=click.IntRange(0), help="Tile size for large images (0 = whole image).")
@click.option("--lpips", "lpips_mode", default="auto", show_default=True, type=click.Choice(["auto", "on", "off"]),
              help="ST-LPIPS beside PSNR/SSIM: auto = when st-lpips-vgg is already fetched, on = fetch it on first use (59 MB), off.")
def sr(model: str, data: str, lr_dir: str | None, scale: int | None, device: str, tile: int, lpips_mode: str) -> None:
    """PSNR and SSIM of MODEL and of bicubic, side by side (and ST-LPIPS, labelled so), then one JSON line.

    Each image is cropped to a multiple of the scale; its LR input is the benchmark's own (--lr) or made by
    antialiased bicubic (PIL). The LR is up-scaled by the model and by bicubic. Scores are on the Y channel
    of YCbCr with `scale` pixels cropped from each border (the SR literature's convention), in fp32.

    \b
    Example:
      translate eval sr --model srgan --data Set14/
      translate eval sr --model srresnet --data BSD100/ --lr BSD100/   # img_*_HR.png beside img_*_LR.png
      translate eval sr --model runs/srgan-photos --data photos/val --scale 4
    """
    from translate.device import resolve_device
    from translate.eval.lpips import st_lpips_for
    from translate.eval.sr import evaluate_sr, json_line

    lpips, note = st_lpips_for(lpips_mode, resolve_device(device))
    result = evaluate_sr(model, data, scale=scale, device=device, tile=tile, lr_dir=lr_dir, lpips=lpips, lpips_note=note)
    click.echo(result.table())
    for note in result.skipped:
        click.echo(f"skipped {note}", err=True)
    click.echo(json_line(result))


def _add_other_evaluations() -> None:
    """`translate eval detector` is defined with the detector (cli/eval_detector.py) and joins this group."""
    from translate.cli.eval_video import video  # `translate eval video`: flicker (cli/eval_video.py)

    eval_group.add_command(video)
    from translate.cli.eval_fid import fid  # `translate eval fid`: FID/KID (cli/eval_fid.py)

    eval_group.add_command(fid)
    from translate.cli.eval_faceswap import faceswap  # `translate eval faceswap`: identity, pose (cli/eval_faceswap.py)

    eval_group.add_command(faceswap)
    try:
        from translate.cli.eval_detector import detector
    except ImportError:
        return
    eval_group.add_command(detector)


_add_other_evaluations()
