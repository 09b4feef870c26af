"""`translate video`: run a model over every frame of a video; frame rate, audio and colour kept."""
from __future__ import annotations

import logging

import click

from translate.cli.options import (
    PRECISIONS,  # noqa: F401 - re-exported for chain.py and later commands
    batch_size_option,
    device_option,
    face_detection_options,
    model_option,
    output_option,
    overwrite_option,
    precision_option,
    quiet_option,
)
from translate.video.command import (  # noqa: F401 - the chain lives in the library; re-exported for chain.py
    translate_options,
    video_chain,
    video_stages,
)

CODECS = ["h264", "h264-lossless", "ffv1"]
PRESETS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]


def warnings_to_stderr() -> None:
    """Show the library's warnings (variable frame rate, 10-bit source...) as 'warning: ...' lines."""
    logger = logging.getLogger("translate")
    if not any(getattr(h, "_translate_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("warning: %(message)s"))
        handler.setLevel(logging.WARNING)
        handler._translate_cli = True
        logger.addHandler(handler)
        logger.propagate = False


def echo_summary(summary: dict) -> None:
    out = summary["output"]
    line = (f"wrote {out['path']}: {out['frames']} frames, {out['width']}x{out['height']} at {out['fps']} fps, "
            f"audio {out['audio']}")
    if out.get("padded_to_even"):
        line += " (padded to even size)"
    click.echo(line + f"; {summary['fps']} frames/s")
    faces = summary.get("stages", {}).get("faces")
    if faces:
        click.echo(f"faces: {faces['faces']} in {faces['frames']} frames, {faces['frames_without_faces']} frames without "
                   f"a face passed through unchanged; {faces['landmarks']} landmarks, {faces['size']} px "
                   f"{faces['centering']} crops (from the {faces.get('crop_from', 'option')})")


@click.command("video")
@click.argument("input", metavar="IN", type=click.Path(dir_okay=False))
@model_option()
@output_option("Output video (.mp4, .mov, .mkv). Default: IN's name with the model's before the suffix "
               "(in.srgan.mp4), beside IN.")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), help="For two-generator models (CycleGAN, DiscoGAN, faceswap).")
@batch_size_option(4, help="Frames per model call.")
@click.option("--tile", default=0, show_default=True, type=click.IntRange(0), help="Run frames in overlapping tiles of N px (0 = whole frames); lets 4K fit in memory.")
@click.option("--tile-pad", default=10, show_default=True, type=click.IntRange(0), help="Context pixels around each tile.")
@precision_option()
@device_option()
@click.option("--start", metavar="TIME", help="Start at this time (seconds or [HH:]MM:SS[.ms]).")
@click.option("--end", metavar="TIME", help="Stop at this time.")
@click.option("--codec", default="h264", show_default=True, type=click.Choice(CODECS), help="h264 (4:2:0), h264-lossless (x264 qp 0, 4:4:4) or ffv1 (lossless RGB, .mkv).")
@click.option("--crf", default=18, show_default=True, type=click.IntRange(0, 51), help="x264 quality (lower = better, larger).")
@click.option("--preset", default="medium", show_default=True, type=click.Choice(PRESETS), help="x264 speed/size trade-off.")
@click.option("--no-audio", is_flag=True, help="Do not copy the source's audio.")
@overwrite_option("Replace OUT if it exists.")
@quiet_option()
@click.option("--temporal", is_flag=True, help="Less flicker: blend the previous output, warped by the input's optical "
              "flow, into each frame where the flow is reliable (scene cuts reset it).")
@click.option("--temporal-strength", "temporal_strength", default=0.6, show_default=True, type=click.FloatRange(0, 1, max_open=True),
              help="--temporal: the most weight the warped previous output gets (0 = off).")
@click.option("--faces", is_flag=True, help="Translate faces only: detect, align, translate the crop, blend it back.")
@click.option("--face-index", "face_index", type=click.IntRange(0), metavar="N",
              help="--faces: only the face whose track id is N (ids as in `faces extract`'s alignments). Default: all.")
@click.option("--alignments", type=click.Path(dir_okay=False), metavar="FILE",
              help="--faces: use this alignments.json (from `faces extract` on this video, maybe edited) instead of detecting.")
@face_detection_options("--faces: ")
@click.option("--mask", default="components", show_default=True, type=click.Choice(["components", "extended"]),
              help="--faces: blend mask, the landmark hull (components) or with the forehead (extended).")
@click.option("--colour", default="mean", show_default=True, type=click.Choice(["mean", "reinhard", "hist", "none"]),
              help="--faces: colour correction of the translated face to the original.")
@click.option("--seamless", is_flag=True, help="--faces: Poisson (seamless clone) blending instead of the feathered mask.")
@click.option("--face-size", "face_size", type=click.IntRange(16), metavar="PX",
              help="--faces: crop size. Default: the model's (face models record it; others: their training size). "
                   "A face model refuses another size.")
@click.option("--centering", type=click.Choice(["legacy", "face", "head"]),
              help="--faces: crop framing. Default: the model's (else face). A face model refuses another one.")
def video(input, model, output, direction, batch_size, tile, tile_pad, precision, device, start, end, codec, crf, preset,
          no_audio, overwrite, quiet, temporal, temporal_strength, faces, face_index, alignments, detector, landmarks,
          reference_face, reference_threshold, mask, colour, seamless, face_size, centering) -> None:
    """Translate or upscale every frame of a video; frame rate, audio and colour are kept.

    Every decoded frame is written once (variable frame rate sources too), the audio stream is copied, and
    the output carries the model's name and sha256 in its tags. OUT is written under a temporary name and
    renamed when complete.

    \b
    Examples:
      translate video in.mp4 --model srgan                  # writes in.srgan.mp4
      translate video in.mp4 --model srgan -o out.mp4
      translate video in.mp4 --model runs/cyclegan-horses-zebras -o zebras.mp4 --start 10 --end 20
      translate video 4k.mp4 --model srgan --tile 256 --codec ffv1 -o big.mkv
      translate video alice.mp4 --faces --model runs/faceswap-alice-bob -o alice_as_bob.mp4
      translate video in.mp4 --model runs/cyclegan-horses-zebras --temporal -o zebras.mp4   # less flicker

    With --faces, frames without a face are written unchanged and counted in the summary.
    """
    from translate.output_names import default_video_output
    from translate.video.runner import run_chain

    warnings_to_stderr()
    output = output or str(default_video_output(input, model, codec))
    opts = dict(input=input, model=model, output=output, direction=direction, batch_size=batch_size, tile=tile,
                tile_pad=tile_pad, precision=precision, device=device, start=start, end=end, codec=codec, crf=crf,
                preset=preset, no_audio=no_audio, overwrite=overwrite, temporal=temporal,
                temporal_strength=temporal_strength, faces=faces, face_index=face_index,
                alignments=alignments, detector=detector, landmarks=landmarks, reference_face=reference_face,
                reference_threshold=reference_threshold, mask=mask, colour=colour, seamless=seamless,
                face_size=face_size, centering=centering)
    if not faces:
        given = [name for name, value in (("--face-index", face_index), ("--alignments", alignments), ("--seamless", seamless),
                                          ("--face-size", face_size), ("--centering", centering),
                                          ("--reference-face", reference_face)) if value]
        if given:
            raise click.UsageError(f"{', '.join(given)} only apply with --faces")
    echo_summary(run_chain(video_chain(opts), progress=not quiet))
