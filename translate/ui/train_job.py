"""Train tab, page-free: start, stop and resume runs from two folders, and read what a run shows while it trains.

The form becomes `translate train METHOD --a A --b B ...` arguments, parsed by the CLI's own command and
turned into a RunSpec by its build_spec, then trained by training.start_run in the calling (worker) thread.
Stop sets the run's stop event: the loop saves a checkpoint and stops after the current step, as on Ctrl-C.
Runs live under OUT/runs/, so the page writes nowhere else.
"""
from __future__ import annotations

import shlex
import threading
from dataclasses import dataclass
from pathlib import Path

import click

from translate.errors import UserError
from translate.runlog import RunLog

# Flags the page sets itself: runs stay under the page's --out; Resume is a button.
FIXED = ("--out", "--resume")


def two_folder_methods() -> list[str]:
    """Training methods that take --a and --b folders."""
    from translate.cli.train import train

    return [name for name, cmd in train.commands.items() if {"a", "b"} <= {p.name for p in cmd.params}]


def folder_flags(method: str) -> tuple[str, str]:
    """The method's flags for its two folders: --a/--b, or --real/--fake for the detector."""
    from translate.cli.train import train

    flags = {p.name: p.opts[0] for p in train.commands[method].params}
    return flags["a"], flags["b"]


@dataclass
class RunView:
    status: str
    sample: Path | None  # the newest samples/step_*.png grid
    losses: Path | None  # losses.png


def run_args(method: str, a: str, b: str, name: str, steps: int, size: int, extra: str, runs: Path) -> list[str]:
    """The `translate train METHOD` arguments for the form; ``extra`` (more CLI flags) overrides the page's defaults."""
    if method not in two_folder_methods():
        raise UserError(f"method {method!r}: choose one of {', '.join(two_folder_methods())}")
    for label, folder in (("A", a), ("B", b)):
        if not folder or not Path(folder).expanduser().is_dir():
            raise UserError(f"folder {label} {folder!r} is not a folder on this machine: give the path of a folder of images")
    if not name or Path(name).name != name or name.startswith("."):
        raise UserError(f"run name {name!r}: give a plain folder name (letters, digits, '-', '_')")
    try:
        more = shlex.split(extra or "")
    except ValueError as e:
        raise UserError(f"more options: {e}") from None
    if any(arg.split("=")[0] in FIXED for arg in more):
        raise UserError("more options: --out and --resume are set by the page (runs go under the page's --out)")
    # --workers 0: no loader processes forked from a threaded server; ``more`` comes after the defaults, so it wins
    flag_a, flag_b = folder_flags(method)
    return [flag_a, str(Path(a).expanduser()), flag_b, str(Path(b).expanduser()), "--name", name, "--steps", str(int(steps)),
            "--size", str(int(size)), "--workers", "0", *more, "--out", str(runs)]


def run_spec(method: str, args: list[str]):
    """(RunSpec, explicitly given values) exactly as `translate train METHOD ARGS` builds them."""
    from translate.cli.train import build_spec, train

    command = train.commands[method]
    try:
        ctx = command.make_context(method, list(args))
    except click.ClickException as e:
        raise UserError(e.format_message()) from None
    params = dict(ctx.params)
    params.pop("resume", None)
    return build_spec(method, params, ctx)


def logged(run_dir: Path) -> list[dict]:
    """log.jsonl's records; [] while a line is half-written (the loop appends as it trains)."""
    try:
        return RunLog(run_dir).read()
    except ValueError:
        return []


class TrainJobs:
    """The runs this page started, by run folder, each with its stop event."""

    def __init__(self, runs: Path):
        self.runs = Path(runs)
        self._stops: dict[Path, threading.Event] = {}
        self._lock = threading.Lock()

    def run_dir(self, name: str) -> Path:
        return self.runs / name

    def is_running(self, name: str) -> bool:
        with self._lock:
            return self.run_dir(name) in self._stops

    def train(self, method: str, a: str, b: str, name: str, steps: int, size: int, extra: str = "",
              resume: bool = False) -> str:
        """Train (or resume) in this thread until done or stopped; returns the outcome line."""
        from translate.training import start_run

        spec, explicit = run_spec(method, run_args(method, a, b, name, steps, size, extra, self.runs))
        run_dir = self.run_dir(name)
        stop = threading.Event()
        with self._lock:
            if run_dir in self._stops:
                raise UserError(f"run {name} is already training: stop it first")
            self._stops[run_dir] = stop
        try:
            code = start_run(spec, resume, explicit, stop=stop)
        finally:
            with self._lock:
                self._stops.pop(run_dir, None)
        step = self.last_step(run_dir)
        if code == 130:
            return f"stopped at step {step}; checkpoint saved in {run_dir}: press Resume to continue"
        return f"done: {run_dir / 'model.safetensors'} ({step} steps)"

    def stop(self, name: str) -> str:
        with self._lock:
            event = self._stops.get(self.run_dir(name))
        if event is None:
            return f"run {name} is not training"
        event.set()
        return f"stopping {name}: saving a checkpoint after this step"

    @staticmethod
    def last_step(run_dir: Path) -> int:
        records = logged(run_dir)
        return int(records[-1]["step"]) if records else 0

    def view(self, name: str) -> RunView:
        """What the run folder shows now: newest sample grid, losses.png and the last logged losses."""
        if not name:
            return RunView("no run yet", None, None)
        run_dir = self.run_dir(name)
        samples = sorted((run_dir / "samples").glob("step_*.png"))
        losses = run_dir / "losses.png"
        records = logged(run_dir)
        state = "training" if self.is_running(name) else "idle"
        status = f"{name}: {state}"
        if records:
            last = records[-1]
            values = ", ".join(f"{k} {v:.4g}" for k, v in last.items()
                               if k not in ("step", "epoch", "time", "lr") and isinstance(v, (int, float)))
            status += f", step {last['step']}: {values}"
        return RunView(status, samples[-1] if samples else None, losses if losses.is_file() else None)
