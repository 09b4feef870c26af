"""`translate detect`: flag generated images and videos (table, JSON report, per-frame plot)."""
from __future__ import annotations

import click

from translate.cli.options import (
    batch_size_option,
    device_option,
    model_option,
    quiet_option,
)


@click.command("detect")
@click.argument("inputs", nargs=-1, required=True, metavar="PATH...", type=click.Path())
@model_option("Detect model: file, run folder or manifest name (the bundled 'detector' by default).", default="detector")
@click.option("--frames", "frames", default=16, show_default=True, type=click.IntRange(1),
              help="Frames scored per video, spread evenly over it.")
@click.option("--every", type=click.IntRange(1), help="Score every N-th frame of videos instead (1: all of them).")
@click.option("--faces", is_flag=True, help="Score face crops (1.3x box) where faces are found, else the whole frame.")
@click.option("--landmarks", default="auto", show_default=True, type=click.Choice(["auto", "dlib", "fan"]),
              help="Face backend for --faces.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the JSON report here.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="Write a PNG of per-frame (or per-image) scores.")
@click.option("--evidence", "evidence_dir", type=click.Path(file_okay=False),
              help="Write one contact-sheet PNG per input here: its most suspicious frames with their scores.")
@click.option("--fail-on-fake", is_flag=True, help="Exit with code 3 when anything is flagged.")
@device_option()
@batch_size_option(16, help="Crops per detector call.")
@quiet_option()
def detect(inputs, model, frames, every, faces, landmarks, json_path, plot_path, evidence_dir, fail_on_fake, device, batch_size,
           quiet) -> None:
    """Score images, folders and videos: probability that each is generated, and a verdict.

    A video is sampled (16 frames spread over it, --frames N, or every N-th frame with --every N), scored per frame and aggregated into one score
    (confident frames decide: if enough frames score above 0.8, their mean; if nearly all are below 0.2,
    theirs; else the mean). The verdict is "fake" above the model's fake threshold (set at 2% false
    positives on real validation crops), "uncertain" above its uncertain threshold (10%), else "real".
    The JSON report also gives each video's mean frame score (the video-level score DeepfakeBench uses).
    A provenance tag written by translate is reported on its own line, but never changes the score.

    A file named here that cannot be read is one error line (the others are still scored); unreadable files
    inside a folder are skipped with a warning. Exit codes: 0 done, 1 a named file could not be read (or
    nothing could), 3 something was "fake" (with --fail-on-fake; "uncertain" never exits 3).

    \b
    Examples:
      translate detect photo.jpg clip.mp4
      translate detect uploads/ --json report.json --plot scores.png
      translate detect clip.mp4 --faces --every 4 --fail-on-fake
      translate detect clip.mp4 --evidence evidence/
    """
    import sys

    from translate.detect.report import (
        format_table,
        plot_frame_scores,
        write_json_report,
    )
    from translate.detect.run import detect as run_detect
    from translate.detect.run import named_file_outcome
    from translate.errors import FlaggedError

    results, scorer = run_detect(inputs, model=model, every=every, frames=frames, faces=faces, landmarks=landmarks, device=device,
                                 batch_size=batch_size, progress=not quiet)
    if scorer.fallback_note:
        click.echo(f"warning: {scorer.fallback_note}", err=True)
    outcome = named_file_outcome(inputs, results)
    for line in outcome.stderr_lines(nothing="nothing could be scored"):
        click.echo(line, err=True)
    if not outcome.done:
        sys.exit(1)
    if not scorer.calibrated:
        click.echo(f"warning: model {scorer.facts()['name']} carries no calibration: threshold 0.5 on raw scores", err=True)
    elif scorer.calibration.single_threshold and not quiet:
        click.echo(f"note: model {scorer.facts()['name']} has one threshold (made before the uncertain band): "
                   "verdicts are fake or real, never uncertain", err=True)
    click.echo(format_table([r for r in results if r.error is None]))
    if json_path:
        write_json_report(json_path, results, scorer.facts())
        click.echo(f"wrote {json_path}", err=True)
    if plot_path:
        plot_frame_scores(plot_path, results, scorer.threshold)
        click.echo(f"wrote {plot_path}", err=True)
    if evidence_dir:
        from translate.detect.evidence import write_evidence

        sheets = write_evidence(evidence_dir, results)
        click.echo(f"wrote {len(sheets)} evidence sheet(s) to {evidence_dir}", err=True)
    flagged = [r for r in results if r.verdict == "fake"]
    if fail_on_fake and flagged:
        raise FlaggedError(f"flagged as generated: {len(flagged)} of {len(results)} file(s)")
    if outcome.exit_code:
        sys.exit(outcome.exit_code)
