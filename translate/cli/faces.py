"""`translate faces ...`: face data commands (extract aligned crops + alignments for training)."""
from __future__ import annotations

import click

from translate.cli.options import device_option, face_detection_options, output_option, quiet_option
from translate.faces.align import CENTERINGS


@click.group()
def faces() -> None:
    """Face data: aligned crops and landmarks for face models.

    \b
    Example:
      translate faces extract interview.mp4 -o faces/alice
    """


@faces.command("extract")
@click.argument("source", type=click.Path(path_type=str))
@output_option("Folder for the aligned crops (PNG) and alignments.json.", folder=True, required=True)
@click.option("--size", default=256, show_default=True, type=click.IntRange(16, 4096), help="Crop size in pixels.")
@click.option("--every", default=1, show_default=True, type=click.IntRange(1), help="Use every N-th frame.")
@click.option("--min-size", default=0, show_default=True, type=click.IntRange(0),
              help="Skip faces whose box is smaller than this many pixels (0: keep all).")
@click.option("--centering", default="face", show_default=True, type=click.Choice(CENTERINGS),
              help="Crop framing: legacy (tight), face (forehead to chin), head (whole head).")
@face_detection_options()
@device_option("Device for the fan backend (cpu, cuda, auto).")
@click.option("--no-smooth", is_flag=True, help="Do not smooth landmarks over time (videos).")
@quiet_option()
def extract(source: str, output: str, size: int, every: int, min_size: int, centering: str, detector: str,
            landmarks: str, reference_face: str | None, reference_threshold: float, device: str, no_smooth: bool,
            quiet: bool) -> None:
    """Extract aligned face crops and an alignments JSON from a VIDEO or a folder of images.

    Crops are named <frame>_<face id>.png; alignments.json holds each frame's boxes, 68 landmarks and
    crop matrices (reusable with `translate video --faces --alignments`).

    \b
    Example:
      translate faces extract interview.mp4 -o faces/alice --size 256 --every 2
      translate faces extract photos/ -o faces/bob --landmarks dlib
      translate faces extract party.mp4 -o faces/alice --reference-face alice.jpg   # only Alice
    """
    from translate.faces.extract import extract_faces
    from translate.progress import progress_bar

    with progress_bar(desc="faces", unit="frame", quiet=quiet) as bar:
        summary = extract_faces(source, output, size=size, every=every, min_size=min_size, centering=centering,
                                landmarks=landmarks, device=device, smooth=not no_smooth, progress=bar.update,
                                detector=detector, reference_face=reference_face,
                                reference_threshold=reference_threshold)
    click.echo(f"landmarks: {summary['landmarks']}")
    click.echo(f"{summary['faces']} faces from {summary['frames']} frames "
               f"({summary['frames_without_faces']} without a face) -> {output}")
