"""`translate frames extract|encode`: frames of a video on disk, and back into a video."""
from __future__ import annotations

import click

from translate.cli.options import output_option, overwrite_option, quiet_option
from translate.cli.video import CODECS, PRESETS, echo_summary, warnings_to_stderr


@click.group("frames")
def frames() -> None:
    """Extract a video's frames to image files, or encode a folder of frames into a video.

    \b
    Examples:
      translate frames extract in.mp4 -o frames/
      translate frames encode frames/ -o out.mp4 --fps 30000/1001 --audio-from in.mp4
    """


@frames.command("extract")
@click.argument("video", type=click.Path(dir_okay=False))
@output_option("Folder for frame_<index>.png files. Default: IN.frames/ beside the video.", folder=True)
@click.option("--every", default=1, show_default=True, type=click.IntRange(1), help="Keep every N-th frame (file names keep the source frame number).")
@click.option("--format", "fmt", default="png", show_default=True, type=click.Choice(["png", "jpg"]))
@click.option("--start", metavar="TIME", help="Start at this time (seconds or [HH:]MM:SS).")
@click.option("--end", metavar="TIME", help="Stop at this time.")
@overwrite_option("Write into a folder that is not empty.")
@quiet_option()
def extract(video, output, every, fmt, start, end, overwrite, quiet) -> None:
    """Write a video's frames as images (every decoded frame once, rotated as displayed).

    \b
    Examples:
      translate frames extract in.mp4                       # writes in.frames/
      translate frames extract in.mp4 -o frames/ --every 10 --format jpg
    """
    from translate.output_names import default_frames_folder
    from translate.video.framefiles import extract_frames

    warnings_to_stderr()
    output = output or str(default_frames_folder(video))
    result = extract_frames(video, output, every=every, fmt=fmt, start=start, end=end, overwrite=overwrite, progress=not quiet)
    click.echo(f"wrote {result['written']} frame(s) of {result['frames']} to {result['folder']} (source at {result['fps']} fps)")


@frames.command("encode")
@click.argument("folder", type=click.Path(file_okay=False))
@output_option("Output video (.mp4, .mov, .mkv).", required=True)
@click.option("--fps", required=True, metavar="RATE", help="Frame rate, exact: 25, 24000/1001, 30000/1001.")
@click.option("--audio-from", type=click.Path(dir_okay=False), help="Copy the audio of this video.")
@click.option("--codec", default="h264", show_default=True, type=click.Choice(CODECS))
@click.option("--crf", default=18, show_default=True, type=click.IntRange(0, 51))
@click.option("--preset", default="medium", show_default=True, type=click.Choice(PRESETS))
@overwrite_option("Replace the output if it exists.")
@quiet_option()
def encode(folder, output, fps, audio_from, codec, crf, preset, overwrite, quiet) -> None:
    """Encode a folder of same-size images (natural order: frame_2 before frame_10) into a video.

    \b
    Examples:
      translate frames encode frames/ -o out.mp4 --fps 25
      translate frames encode frames/ -o out.mp4 --fps 30000/1001 --audio-from in.mp4
    """
    from translate.video.framefiles import encode_frames

    warnings_to_stderr()
    echo_summary(encode_frames(folder, output, fps, audio_from=audio_from, codec=codec, crf=crf, preset=preset,
                               overwrite=overwrite, progress=not quiet))
