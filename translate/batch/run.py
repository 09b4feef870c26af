"""`translate batch` as a library call: inputs -> jobs -> the local pool or Ray -> outputs and OUTDIR/jobs.jsonl.

The driver (this process) alone writes the job file, one record as each job ends, so an interrupted batch
keeps every finished job's record and a rerun picks up where it stopped. Long videos (``split_long``) run as
chunk tasks and are joined here when their last chunk is in.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from translate.batch import split
from translate.batch.inputs import BatchInput, expand_inputs
from translate.batch.jobs import DONE, FAILED, SKIPPED, Job, JobFile, job_key, new_record, plan_jobs
from translate.batch.work import Task, detect_verdict, remove_stale_partials
from translate.errors import UserError
from translate.weights.digest import file_sha256
from translate.weights.resolve import resolve_model


@dataclass
class BatchConfig:
    inputs: list[str]
    out_dir: Path
    options: dict[str, Any]  # the video command's stage options: model, direction, faces, codec, crf...
    workers: int = 1
    ray: str | None = None  # None: local pool; "auto" or an address
    max_retries: int = 2
    retry_failed: bool = False
    overwrite: bool = False
    split_long: float | None = None
    detect: dict[str, Any] | None = None  # {"model": ..., "every": ...}
    progress: bool = True


@dataclass
class BatchSummary:
    done: int = 0
    skipped: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)  # records of the jobs that failed
    frames: int = 0
    seconds: float = 0.0
    job_file: str = ""

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def _make_jobs(items: list[BatchInput], out_dir: Path, model_sha256: str, options: dict[str, Any]) -> list[Job]:
    jobs = []
    seen: set[tuple[str, str]] = set()
    for item in items:
        if (str(item.source.resolve()), str(item.output)) in seen:
            continue
        seen.add((str(item.source.resolve()), str(item.output)))
        if item.problem:
            key = hashlib.sha256(f"missing\n{item.source}".encode()).hexdigest()
            jobs.append(Job(key, item.source, item.output, item.kind, "", options, problem=item.problem))
            continue
        sha = file_sha256(item.source)
        # the output's place is part of the key: two inputs with the same bytes are still two jobs
        where = {**options, "kind": item.kind, "target": item.output.relative_to(out_dir).as_posix()}
        jobs.append(Job(job_key(sha, model_sha256, where), item.source, item.output, item.kind, sha, options))
    return jobs


def _frame_estimate(job: Job) -> tuple[int, float | None]:
    """(frames, duration) of a job's input for the progress bar and splitting; (1, None) for images and unknowns."""
    if job.kind == "image":
        return 1, None
    from translate.video.probe import probe

    try:
        info = probe(job.input)
    except UserError:
        return 0, None
    return info.frame_count or int(round((info.duration or 0) * float(info.fps))), info.duration


class _Batch:
    """The running batch: tasks out, results in, records written, the one progress bar updated."""

    def __init__(self, config: BatchConfig, job_file: JobFile, summary: BatchSummary, total_jobs: int):
        self.config, self.job_file, self.summary = config, job_file, summary
        self.total_jobs = total_jobs
        self.finished = summary.skipped
        self.parts: dict[str, dict[int, dict]] = {}  # job key -> chunk index -> result
        self.chunks: dict[str, int] = {}
        self.jobs: dict[str, Job] = {}
        self.bar = None

    def open_bar(self, total_frames: int) -> None:
        from translate.progress import progress_bar

        self.bar = progress_bar(total=total_frames or None, desc="batch", unit="frame", quiet=not self.config.progress)
        self._postfix()

    def _postfix(self) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"jobs {self.finished}/{self.total_jobs}, failed {len(self.summary.failed)}")

    def frames(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def record(self, job: Job, result: dict[str, Any]) -> None:
        extra = {k: result[k] for k in ("output_sha256", "error", "seconds", "frames", "worker", "detect", "chunks")
                 if k in result}
        record = new_record(job, result["state"], **extra)
        self.job_file.append(record)
        self.finished += 1
        if record["state"] == FAILED:
            self.summary.failed.append(record)
        else:
            self.summary.done += 1
            self.summary.frames += int(record.get("frames") or 0)
        self._postfix()

    def on_result(self, task: Task, result: dict[str, Any]) -> None:
        job = self.jobs[task.key]
        if task.part is None:
            self.record(job, result)
            return
        parts = self.parts.setdefault(task.key, {})
        parts[task.part] = result
        if len(parts) == self.chunks[task.key]:
            self.record(job, self._join(job, task, parts))

    def _join(self, job: Job, task: Task, parts: dict[int, dict]) -> dict[str, Any]:
        """All chunks of a long video are in: join them (or report the first chunk that failed)."""
        seconds = round(sum(float(r.get("seconds") or 0) for r in parts.values()), 3)
        workers = sorted({r.get("worker", "") for r in parts.values()})
        bad = [parts[i] for i in sorted(parts) if parts[i]["state"] != DONE]
        folder = split.chunk_folder(job.output, job.key)
        result: dict[str, Any] = {"seconds": seconds, "chunks": len(parts), "worker": ", ".join(workers)}
        try:
            if bad:
                return {**result, "state": FAILED, "error": f"chunk {bad[0]['part']}: {bad[0]['error']}"}
            paths = [split.chunk_path(job.output, job.key, i) for i in sorted(parts)]
            joined = split.join_chunks(paths, job.input, job.output, not job.options.get("no_audio"), task.overwrite)
            result.update(state=DONE, frames=joined["frames"], output_sha256=file_sha256(job.output), error=None)
            if self.config.detect is not None:
                result["detect"] = detect_verdict(job.output, job.kind, self.config.detect, job.options.get("device", "auto"))
            return result
        except UserError as e:
            return {**result, "state": FAILED, "error": str(e)}
        finally:
            from translate.cleanup import remove_partial

            remove_partial(folder)


def _tasks_for(job: Job, model_path: str, config: BatchConfig, ours: dict[str, str],
               frames: int, duration: float | None) -> list[Task]:
    """One task, or one per chunk when the video is longer than --split-long."""
    output = job.output
    replace = config.overwrite or (output.is_file() and ours.get(str(output)) == file_sha256(output))
    base = dict(key=job.key, input=str(job.input), kind=job.kind, options=job.options, model_path=model_path,
                overwrite=replace, detect=config.detect)
    if config.split_long and job.kind == "video" and duration and duration > config.split_long:
        try:
            chunks = split.chunks_for(job.input, config.split_long)
        except UserError:
            chunks = []  # the whole-video task reports the problem
        if len(chunks) > 1:
            return [Task(**{**base, "output": str(split.chunk_path(output, job.key, c.index)), "overwrite": True},
                         start=c.start, part=c.index, expected_frames=c.frames) for c in chunks]
    return [Task(**base, output=str(output))]


def run_batch(config: BatchConfig) -> BatchSummary:
    """Run every input of the batch (see the module's docstring); returns counts and the failed records."""
    t0 = time.perf_counter()
    options = dict(config.options)
    if config.split_long and (options.get("start") or options.get("end")):
        raise UserError("--split-long cannot be combined with --start/--end")
    model_path = str(resolve_model(options["model"]))
    model_sha = file_sha256(model_path)
    key_options = {**options, "model": None, "detect": config.detect}
    items = expand_inputs(config.inputs, config.out_dir, options.get("codec", "h264"))
    jobs = _make_jobs(items, config.out_dir, model_sha, key_options)
    job_file = JobFile(config.out_dir)
    plan = plan_jobs(jobs, job_file, config.retry_failed)
    summary = BatchSummary(skipped=len(plan.skip), job_file=str(job_file.path))
    batch = _Batch(config, job_file, summary, len(jobs))
    for job, record in plan.skip:
        job_file.append({**record, "state": SKIPPED, "seconds": 0.0})
    for job, record in plan.failed_earlier:
        summary.failed.append({**record, "error": f"{record.get('error')} (failed earlier; rerun with --retry-failed)"})
    ours = job_file.outputs_written()
    tasks: list[Task] = []
    total_frames = 0
    for job in plan.run:
        batch.jobs[job.key] = job
        if job.problem:
            batch.record(job, {"state": FAILED, "error": job.problem, "seconds": 0.0})
            continue
        frames, duration = _frame_estimate(job)
        total_frames += frames
        job_tasks = _tasks_for(job, model_path, config, ours, frames, duration)
        if job_tasks[0].part is not None:
            batch.chunks[job.key] = len(job_tasks)
        tasks += job_tasks
    batch.open_bar(total_frames)
    try:
        if config.ray:
            from translate.batch.ray_engine import run_ray

            run_ray(tasks, config.ray, model_path, model_sha, batch.on_result, batch.frames,
                    max_retries=config.max_retries, num_cpus=config.workers if config.workers > 0 else None)
        else:
            from translate.batch.local import run_local

            run_local(tasks, max(1, config.workers), batch.on_result, batch.frames)
    finally:
        if batch.bar is not None:
            batch.bar.close()
        from translate.cleanup import remove_partial

        for job in plan.run:  # what a killed or interrupted attempt left behind
            remove_stale_partials(job.output)
            if job.key in batch.chunks:
                remove_partial(split.chunk_folder(job.output, job.key))
    summary.seconds = round(time.perf_counter() - t0, 3)
    return summary
