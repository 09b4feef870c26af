"""`translate batch`: many videos and images, resumable, on a local pool of workers or a Ray cluster."""
from __future__ import annotations

import click

from translate.cli.video import video as video_command
from translate.cli.video import warnings_to_stderr
from translate.errors import UserError

# Every stage option of `translate video` is accepted as-is: its own Click options, taken from the command.
NOT_STAGE_OPTIONS = {"input", "output", "overwrite", "quiet"}
STAGE_PARAMS = [p for p in video_command.params if isinstance(p, click.Option) and p.name not in NOT_STAGE_OPTIONS]


def _with_stage_options(command):
    command.params.extend(STAGE_PARAMS)
    return command


def failure_table(failed: list[dict]) -> str:
    """What failed and why, one row each."""
    rows = [(str(r.get("input", "")), str(r.get("error") or "")) for r in failed]
    width = max([len("input")] + [len(a) for a, _ in rows])
    lines = [f"{'input'.ljust(width)}  error", f"{'-' * width}  -----"]
    lines += [f"{a.ljust(width)}  {b}" for a, b in rows]
    return "\n".join(lines)


@_with_stage_options
@click.command("batch")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUTS...")
@click.option("-o", "--output", "out_dir", required=True, metavar="OUTDIR", type=click.Path(file_okay=False),
              help="Output folder: each output mirrors its input's path here; OUTDIR/jobs.jsonl records every job.")
@click.option("--workers", type=click.IntRange(1), metavar="N",
              help="Local worker processes, each with its own model (default 1). With --ray and a cluster started "
                   "here: its CPU count.")
@click.option("--ray", "ray_address", metavar="ADDRESS|auto",
              help="Run on Ray: 'auto' joins a running cluster (`ray start --head`) or starts one on 127.0.0.1; "
                   "or a cluster address.")
@click.option("--max-retries", default=2, show_default=True, type=click.IntRange(0),
              help="--ray: retries of a task whose worker died or crashed before the job is recorded as failed.")
@click.option("--retry-failed", is_flag=True, help="Rerun the jobs that failed in an earlier run.")
@click.option("--split-long", "split_long", type=click.FloatRange(0, min_open=True), metavar="SECONDS",
              help="Split videos longer than this at keyframes and translate the chunks in parallel.")
@click.option("--detect", "detect", is_flag=True, help="Also score each output with the detector; the verdict goes in the job record.")
@click.option("--detect-model", default="detector", show_default=True, metavar="MODEL", help="--detect: the detector model.")
@click.option("--overwrite", is_flag=True, help="Replace outputs that exist and were not written by this batch.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def batch(inputs, out_dir, workers, ray_address, max_retries, retry_failed, split_long, detect, detect_model, overwrite,
          quiet, **stage_options) -> None:
    """Translate many videos and images: one job per input, resumable, on local workers or a Ray cluster.

    INPUTS are videos, images, folders of them, or @list.txt (one path per line). Every stage option of
    `translate video` is accepted as-is. A rerun skips the jobs already done (same input, model and options,
    output unchanged); a changed model or option reruns them. Exit code 1 if any job failed, with a table.

    \b
    Examples:
      translate batch clips/ --model srgan -o out/
      translate batch @todo.txt --model runs/h2z -o out/ --workers 2 --temporal
      translate batch clips/ --model srgan -o out/ --ray auto          # a cluster from `ray start --head`
      translate batch long.mp4 --model srgan -o out/ --split-long 60 --ray auto
      translate batch clips/ --model srgan -o out/ --retry-failed --detect
    """
    from pathlib import Path

    from translate.batch.run import BatchConfig, run_batch

    warnings_to_stderr()
    if not stage_options.get("faces"):
        given = [f"--{n.replace('_', '-')}" for n in ("face_index", "alignments", "seamless", "face_size", "centering")
                 if stage_options.get(n)]
        if given:
            raise click.UsageError(f"{', '.join(given)} only apply with --faces")
    config = BatchConfig(inputs=list(inputs), out_dir=Path(out_dir), options=stage_options,
                         workers=workers or (0 if ray_address else 1), ray=ray_address, max_retries=max_retries,
                         retry_failed=retry_failed, overwrite=overwrite, split_long=split_long,
                         detect={"model": detect_model} if detect else None, progress=not quiet)
    summary = run_batch(config)
    click.echo(f"batch: {summary.done} done, {summary.skipped} skipped (done earlier), {len(summary.failed)} failed; "
               f"{summary.frames} frames in {summary.seconds:.1f}s; records in {summary.job_file}")
    if summary.failed:
        click.echo(failure_table(summary.failed), err=True)
        first = summary.failed[0]
        # One error line for the run (the table says what failed and why); jobs.jsonl keeps the records.
        raise UserError(f"{len(summary.failed)} job(s) failed, the first {first.get('input')}: {first.get('error')}; "
                        "fix them and rerun with --retry-failed")
