"""The one training loop every method shares.

Run folder (runs/<name>/): config.json, checkpoints/last.pt (+ step_*.pt), model.safetensors,
samples/step_*.png, log.jsonl, losses.png. Resume restores nets, optimizers, schedule, step, the method's
own state (replay pools, phases) and every RNG; data order and augmentation are functions of the sample
position (translate.data.datasets), so a resumed run continues exactly where the first one stopped.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from translate._version import __version__
from translate.checkpoint import (
    keep_latest,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from translate.cleanup import quietly
from translate.device import resolve_device, resolve_precision, speed_up
from translate.distributed import DistEnv, unwrap, wrap_for_training
from translate.errors import UserError
from translate.methods import METHODS
from translate.methods.base import DataConfig, Method
from translate.progress import progress_bar
from translate.runlog import RunLog, save_grid
from translate.schedule import Schedule, plan_schedule
from translate.weights.modelfile import load_model, save_model

# Settings that may differ between a run and its resume.
RESUMABLE_CHANGES = {("loop", k) for k in ("steps", "epochs", "decay_epochs", "workers", "sample_every", "save_every",
                                             "keep", "log_every", "tensorboard", "device", "compile")}


@dataclass
class LoopConfig:
    name: str = ""
    out: str = "runs"
    steps: int | None = None
    epochs: int = 100
    decay_epochs: int = 100
    batch_size: int = 1
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    workers: int = 2
    sample_every: int = 500
    save_every: int = 1000
    keep: int = 3
    log_every: int = 10
    tensorboard: bool = False
    init_from: str | None = None
    compile: bool = False


@dataclass
class RunSpec:
    """Everything config.json records about a run."""

    method: str
    loop: LoopConfig
    data: DataConfig
    model: object  # the method's Config dataclass

    def to_json(self) -> dict:
        return {"method": self.method, "version": __version__, "loop": asdict(self.loop),
                "data": asdict(self.data), "model": asdict(self.model)}

    @classmethod
    def from_json(cls, d: dict) -> "RunSpec":
        method = METHODS[d["method"]]
        return cls(d["method"], _fill(LoopConfig, d["loop"]), _fill(DataConfig, d["data"]), _fill(method.Config, d["model"]))


def _fill(cls, values: dict):
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})


def run_dir_of(loop: LoopConfig) -> Path:
    return Path(loop.out) / loop.name


def merge_resume(saved: RunSpec, explicit: dict[tuple[str, str], object]) -> tuple[RunSpec, list[str]]:
    """Apply flags given again on --resume: they must match the run, except the schedule and I/O cadence."""
    notes = []
    for (section, key), value in explicit.items():
        current = getattr(getattr(saved, section), key)
        if current == value:
            continue
        if (section, key) not in RESUMABLE_CHANGES:
            raise UserError(f"run was trained with {key}={current!r}, not {value!r}: drop that flag to resume, "
                            f"or start a new run with another --name")
        if key in ("steps", "epochs", "decay_epochs"):
            if current is not None and value is not None and value < current:
                raise UserError(f"--{key.replace('_', '-')} can only grow on resume ({current} -> {value})")
            notes.append(f"warning: {key} {current} -> {value}: the learning-rate decay is re-planned")
        setattr(getattr(saved, section), key, value)
    return saved, notes


class _Interrupt:
    """First Ctrl-C asks the loop to save and stop after the current step; a second one aborts.

    ``event`` is the same request from any thread (the web page's Stop button): set it and the loop saves
    a checkpoint and stops after the current step, as on Ctrl-C. Signals only reach the main thread.
    """

    def __init__(self, event: threading.Event | None = None):
        self.event = event if event is not None else threading.Event()
        self._previous = None

    @property
    def requested(self) -> bool:
        return self.event.is_set()

    def __enter__(self):
        if threading_is_main():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.event.set()
        print("\ninterrupt: saving a checkpoint after this step (Ctrl-C again to abort)", file=sys.stderr)

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def threading_is_main() -> bool:
    return threading.current_thread() is threading.main_thread()


class Trainer:
    def __init__(self, spec: RunSpec, resume: bool, dist: DistEnv, notes: list[str] | None = None,
                 stop: threading.Event | None = None, progress: bool = True):
        self.spec, self.resume, self.dist = spec, resume, dist
        self.progress = progress  # the step bar (translate.progress); --quiet turns it off
        self.stop = stop  # set from any thread: save and stop after the current step
        self.notes = notes or []
        self.run_dir = run_dir_of(spec.loop)
        loop = spec.loop
        if loop.batch_size % dist.world:
            raise UserError(f"--batch-size {loop.batch_size} is the global batch: it must be divisible by the {dist.world} processes")
        self.device = dist.device if dist.enabled else resolve_device(loop.device)
        self.amp_dtype = resolve_precision(loop.precision, self.device)
        torch.manual_seed(loop.seed)
        method_cls = METHODS[spec.method]
        self.dataset, self.data_summary = method_cls.build_dataset(spec.data, loop.seed)
        self.val_dataset = method_cls.build_validation(spec.data, loop.seed)
        self.method: Method = method_cls(spec.model, self.device, self.amp_dtype, loop.seed)
        self.notes.extend(getattr(self.method, "notes", []))  # what the method chose (e.g. SRGAN's content features)
        self._check_sizes()
        self.steps_per_epoch = max(1, len(self.dataset) // loop.batch_size)
        self.schedule: Schedule = plan_schedule(loop.steps, loop.epochs, loop.decay_epochs, self.steps_per_epoch)
        self.base_lrs = {k: [g["lr"] for g in o.param_groups] for k, o in self.method.optimizers.items()}
        self.step = 0
        if resume:
            self._restore()
        elif loop.init_from:
            self._init_from(loop.init_from)
        wrap_for_training(self.method, dist)
        self._speed_up()

    def _check_sizes(self) -> None:
        size = self.spec.data.size
        for name, net in self.method.export()[0].items():
            multiple = getattr(net, "multiple", 1)
            if size % multiple:
                arch = getattr(net, "_translate_spec", ("this net",))[0]
                raise UserError(f"--size {size} does not fit {arch} ({name} needs a multiple of {multiple}): "
                                f"change --size, or pick a generator that fits it (unet_N runs on multiples of N; resnet_* on multiples of 4)")

    def _speed_up(self) -> None:
        """Device fast paths (device.speed_up), recorded in the log's first line."""
        loop = self.spec.loop
        by_path: dict[str, list[str]] = {}
        for name, net in self.method.nets.items():
            by_path.setdefault(speed_up(net, self.device, loop.precision, self.amp_dtype, loop.compile), []).append(name)
        # one path: just its name; several (e.g. Winograd only where convs are wide): which nets took which
        self.compute = next(iter(by_path)) if len(by_path) == 1 else "; ".join(
            f"{path}: {', '.join(names)}" for path, names in by_path.items())

    # -- state ------------------------------------------------------------------------------
    def _restore(self) -> None:
        path = self.run_dir / "checkpoints" / "last.pt"
        if not path.exists():  # stopped before its first checkpoint: nothing to restore
            self.notes.append(f"{self.run_dir} has no checkpoint yet: starting from step 0")
            return
        state = load_checkpoint(path, self.device)
        for k, net in self.method.nets.items():
            net.load_state_dict(state["nets"][k])
        for k, opt in self.method.optimizers.items():
            opt.load_state_dict(state["optimizers"][k])
        if "scaler" in state:
            self.method.scaler.load_state_dict(state["scaler"])
        self.method.load_extra_state(state["method"])
        self.step = int(state["step"])
        set_rng_state(state["rng"])
        saved_total = Schedule(**state["schedule"]).total_steps
        if saved_total != self.schedule.total_steps:
            self.notes.append(f"warning: schedule re-planned: {saved_total} -> {self.schedule.total_steps} steps")

    def _init_from(self, model: str) -> None:
        from translate.weights.resolve import resolve_model

        loaded = load_model(resolve_model(model), self.device)
        matched = [k for k in loaded.nets if k in self.method.nets]
        if not matched:
            raise UserError(f"--init-from {model}: its nets ({', '.join(loaded.nets)}) match none of {self.spec.method}'s ({', '.join(self.method.nets)})")
        for k in matched:
            try:
                self.method.nets[k].load_state_dict(loaded.nets[k].state_dict())
            except RuntimeError:
                raise UserError(f"--init-from {model}: net {k} has another architecture ({loaded.info.nets[k]['arch']}); pass the same --netG/--ngf/--norm") from None
        self.notes.append(f"initialised {', '.join(matched)} from {model}")

    def checkpoint_state(self) -> dict:
        m = self.method
        return {"step": self.step, "nets": {k: unwrap(n).state_dict() for k, n in m.nets.items()},
                "optimizers": {k: o.state_dict() for k, o in m.optimizers.items()},
                "scaler": m.scaler.state_dict(), "schedule": self.schedule.to_dict(),
                "method": m.extra_state(), "rng": rng_state()}

    def save(self) -> None:
        if not self.dist.is_main:
            return
        ckpt_dir = self.run_dir / "checkpoints"
        state = self.checkpoint_state()
        step_file = ckpt_dir / f"step_{self.step:08d}.pt"
        save_checkpoint(step_file, state)
        tmp = ckpt_dir / ".last.pt.link"
        tmp.unlink(missing_ok=True)
        os.link(step_file, tmp)  # last.pt shares the step file's data; the rename is atomic
        os.replace(tmp, ckpt_dir / "last.pt")
        keep_latest(ckpt_dir, self.spec.loop.keep)
        self.export()

    def export(self) -> None:
        nets, info = self.method.export()
        nets = {k: unwrap(v) for k, v in nets.items()}
        info.name = self.spec.loop.name
        if self.val_dataset is not None:
            with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
                facts = self.method.validate(self.val_dataset)  # never shifts the training RNG
            info.extra = {**info.extra, **facts}
            scalars = {k: v for k, v in facts.get("validation", {}).items() if isinstance(v, (int, float))}
            if scalars:
                print(f"validation at step {self.step}: " + ", ".join(f"{k} {v:.4g}" for k, v in scalars.items()),
                      file=sys.stderr)
        info.extra = {**info.extra, "trained_steps": self.step, "train_size": self.spec.data.size,
                      "trained_direction": self.spec.data.direction}
        save_model(self.run_dir / "model.safetensors", nets, info)

    # -- loop -------------------------------------------------------------------------------
    def _set_lr(self) -> None:
        factor = self.schedule.factor(self.step)
        extra = self.method.lr_scale(self.step)
        for k, opt in self.method.optimizers.items():
            for group, base in zip(opt.param_groups, self.base_lrs[k]):
                group["lr"] = base * factor * extra.get(k, 1.0)

    def _loader(self) -> DataLoader:
        from translate.data.datasets import PositionSampler

        loop = self.spec.loop
        total = self.schedule.total_steps
        sampler = PositionSampler(self.step * loop.batch_size, total * loop.batch_size, loop.batch_size,
                                  self.dist.rank, self.dist.world)
        workers = max(0, loop.workers)
        return DataLoader(self.dataset, batch_size=loop.batch_size // self.dist.world, sampler=sampler,
                          num_workers=workers, pin_memory=self.device.type == "cuda",
                          persistent_workers=workers > 0, prefetch_factor=4 if workers else None,
                          generator=torch.Generator().manual_seed(loop.seed))  # never draws from the global RNG

    def _sample(self, sample_batch: dict) -> None:
        if not self.dist.is_main:
            return
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            rows = self.method.sample_rows(sample_batch)  # forked: sampling never shifts the training RNG
        save_grid(self.run_dir / "samples" / f"step_{self.step:08d}.png", rows, self.method.value_range)

    def run(self) -> int:
        loop = self.spec.loop
        total = self.schedule.total_steps
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        log = RunLog(self.run_dir, loop.tensorboard) if self.dist.is_main else None
        if log is not None:
            log.truncate_after(self.step)
            for note in self.notes:
                print(note, file=sys.stderr)
            print(f"{self.spec.method}: {self.data_summary}; {total} steps ({self.steps_per_epoch}/epoch), "
                  f"device {self.device} ({self.compute}); run folder {self.run_dir}",
                  file=sys.stderr)
        n_show = min(4, len(self.dataset))
        sample_batch = torch.utils.data.default_collate([self.dataset[i] for i in range(n_show)])
        pending: list[tuple[int, float, dict]] = []
        interrupted = False
        bar = progress_bar(total, desc=self.spec.method, unit="step", initial=self.step,
                           quiet=not self.progress or not self.dist.is_main or total == self.step)
        t_last = time.time()
        with _Interrupt(self.stop) as stop:
            if self.step < total:
                for batch in self._loader():
                    self._set_lr()
                    lr = self.method.optimizers[next(iter(self.method.optimizers))].param_groups[0]["lr"]
                    losses = self.method.train_step(batch)
                    self.step += 1
                    pending.append((self.step, lr, losses))
                    bar.update(1)
                    done = self.step >= total
                    if self.step % loop.log_every == 0 or done or stop.requested:
                        t_last = self._flush(log, pending, bar, t_last)
                        pending = []
                    if self.step % loop.sample_every == 0 or done:
                        self._sample(sample_batch)
                        if log is not None:
                            log.plot()  # losses.png follows the samples, so it can be watched during a run
                    if self.step % loop.save_every == 0 or done or stop.requested:
                        self.save()
                    if stop.requested and not done:
                        interrupted = True
                        break
        bar.close()
        if self.step >= total and not (self.run_dir / "model.safetensors").exists():
            self.save()
        if log is not None:
            log.plot()
            log.close()
            if interrupted:
                print(f"stopped at step {self.step}/{total}; continue with the same command plus --resume", file=sys.stderr)
            else:
                print(f"done: {self.run_dir / 'model.safetensors'}", file=sys.stderr)
        return 130 if interrupted else 0

    def _flush(self, log: RunLog | None, pending: list, bar, t_last: float) -> float:
        """One host sync per flush: stack the loss tensors, write log lines, update the bar."""
        keys = list(pending[-1][2].keys())
        values = torch.stack([torch.stack([l[k].float() for k in keys]) for _, _, l in pending]).cpu().tolist()
        now = time.time()
        if log is not None:
            records = []
            for (step, lr, _), vals in zip(pending, values):
                r = {"step": step, "epoch": self.schedule.unit_of(step - 1) if self.schedule.unit == "epoch" else (step - 1) // self.steps_per_epoch,
                     "lr": lr, **{k: round(v, 6) for k, v in zip(keys, vals)}}
                records.append(r)
            records[-1]["time"] = round(now, 3)
            log.write(records)
            bar.set_postfix({k: f"{v:.3f}" for k, v in zip(keys, values[-1])}, refresh=False)
        return now


def start_run(spec: RunSpec, resume: bool, explicit: dict[tuple[str, str], object] | None = None,
              stop: threading.Event | None = None, progress: bool = True) -> int:
    """Create or resume the run folder and train. Returns the exit code (0 done, 130 interrupted).

    ``stop``: an event any thread may set to save a checkpoint and stop after the current step (like Ctrl-C).
    """
    from translate.distributed import init_distributed

    dist = init_distributed(spec.loop.device)
    try:
        run_dir = run_dir_of(spec.loop)
        notes: list[str] = []
        if resume:
            cfg_path = run_dir / "config.json"
            if not cfg_path.exists():
                raise UserError(f"nothing to resume: {cfg_path} does not exist (check --name and --out)")
            saved = RunSpec.from_json(json.loads(cfg_path.read_text()))
            if saved.method != spec.method:
                raise UserError(f"{run_dir} is a {saved.method} run, not {spec.method}")
            spec, notes = merge_resume(saved, explicit or {})
        elif run_dir.exists() and any(run_dir.iterdir()):
            raise UserError(f"run folder {run_dir} already exists: add --resume to continue it, or choose another --name")
        trainer = Trainer(spec, resume, dist, notes, stop, progress)
        if dist.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            tmp = run_dir / ".config.json.tmp"
            tmp.write_text(json.dumps(spec.to_json(), indent=2) + "\n")
            os.replace(tmp, run_dir / "config.json")
        return trainer.run()
    finally:
        quietly(dist.close, what="closing the process group")  # never in place of the error that ended training
