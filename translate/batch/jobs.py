"""Jobs and the job file: what makes a job the same job again, and OUTDIR/jobs.jsonl, which records each outcome.

A job's key is the sha256 of its input, the sha256 of the model file and the options that change the output
(with the output's place under OUTDIR), in canonical JSON. The job file is append-only JSON lines written by the driver alone (workers return their
records): a rerun reads it, skips a job whose key is done and whose output still has the recorded sha256,
and reruns anything else (a changed model or option gives a new key). Failed jobs rerun with --retry-failed.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from translate.weights.digest import file_sha256

JOB_FILE = "jobs.jsonl"
DONE, FAILED, SKIPPED = "done", "failed", "skipped"

# Options that do not change what is written (where and how fast it runs).
NOT_OUTPUT_OPTIONS = frozenset({"device", "batch_size", "quiet", "overwrite", "input", "output"})


def canonical_options(options: dict[str, Any]) -> str:
    """The options that change the output, as sorted compact JSON (None values dropped)."""
    kept = {k: v for k, v in options.items() if k not in NOT_OUTPUT_OPTIONS and v is not None}
    return json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str)


def job_key(input_sha256: str, model_sha256: str, options: dict[str, Any]) -> str:
    text = "\n".join([input_sha256, model_sha256, canonical_options(options)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Job:
    """One input to process into one output; ``options`` are the video command's stage options."""

    key: str
    input: Path
    output: Path
    kind: str  # "video" | "image"
    input_sha256: str
    options: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None  # set when the input cannot even be read (recorded as failed, never run)


def new_record(job: Job, state: str, **extra: Any) -> dict[str, Any]:
    record = {"key": job.key, "input": str(job.input), "output": str(job.output), "input_sha256": job.input_sha256,
              "state": state, "output_sha256": None, "error": None, "seconds": 0.0}
    record.update(extra)
    return record


class JobFile:
    """OUTDIR/jobs.jsonl: one JSON record per line, appended and flushed to disk as each job ends."""

    def __init__(self, out_dir: str | Path):
        self.path = Path(out_dir) / JOB_FILE

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by a crash mid-write: the job simply reruns
                continue
        return out

    def latest(self) -> dict[str, dict[str, Any]]:
        """The last record of each key."""
        return {r["key"]: r for r in self.records() if "key" in r}

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {**record, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def outputs_written(self) -> dict[str, str]:
        """Output path -> the sha256 this batch last wrote there (so a rerun may replace its own outputs)."""
        return {r["output"]: r["output_sha256"] for r in self.records() if r.get("output_sha256")}


def still_done(record: dict[str, Any] | None) -> bool:
    """The job's last outcome was done (or skipped as done) and its output is unchanged on disk."""
    if not record or record.get("state") not in (DONE, SKIPPED) or not record.get("output_sha256"):
        return False
    output = Path(record["output"])
    return output.is_file() and file_sha256(output) == record["output_sha256"]


@dataclass
class Plan:
    run: list[Job]
    skip: list[tuple[Job, dict[str, Any]]]  # done earlier, output unchanged: (job, its done record)
    failed_earlier: list[tuple[Job, dict[str, Any]]]  # failed earlier and not retried (no --retry-failed)


def plan_jobs(jobs: list[Job], job_file: JobFile, retry_failed: bool) -> Plan:
    latest = job_file.latest()
    plan = Plan([], [], [])
    for job in jobs:
        record = latest.get(job.key)
        if still_done(record):
            plan.skip.append((job, record))
        elif record and record.get("state") == FAILED and not retry_failed and job.problem is None:
            plan.failed_earlier.append((job, record))
        else:
            plan.run.append(job)
    return plan
