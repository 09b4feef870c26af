"""`translate eval faceswap`: identity, pose and face-region flicker of a face swap."""
from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("faceswap")
@click.argument("src", metavar="SRC", type=click.Path())
@click.argument("out", metavar="OUT", type=click.Path())
@click.option("--target-faces", required=True, metavar="DIR", type=click.Path(file_okay=False),
              help="Photos or crops of the person swapped in (e.g. the training faces of the target).")
@click.option("--landmarks", default="dlib", show_default=True, type=click.Choice(["dlib", "fan"]),
              help="Face detector and 68-point landmarks used to find and compare the faces.")
@click.option("--json", "json_path", metavar="FILE", type=click.Path(dir_okay=False), help="Also write the JSON to FILE.")
def faceswap(src: str, out: str, target_faces: str, landmarks: str, json_path: str | None) -> None:
    """How well OUT swaps the faces of SRC (a video, an image or a folder) for the person in DIR, then one JSON line.

    Identity: distances of dlib face embeddings (one person below 0.6) of each output face to the target and to
    the source face. Pose and expression: landmark distance between source and output faces, normalised by the
    outer-eye-corner distance. Flicker: the warping error of the face region (videos).

    \b
    Example:
      translate eval faceswap interview.mp4 swapped.mp4 --target-faces faces/bob
    """
    from translate.eval.faceswap import evaluate_faceswap

    result = evaluate_faceswap(src, out, target_faces, landmarks=landmarks)
    click.echo(result.table())
    line = json.dumps(result.summary())
    if json_path:
        Path(json_path).write_text(json.dumps(result.to_json()) + "\n")
    click.echo(line)

