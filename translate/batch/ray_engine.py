"""The Ray engine: one Ray task per job (or per chunk of a long video); Ray schedules, retries and moves data.

Each task decodes, runs batched inference, encodes and muxes the audio (translate.batch.work.run_task). The
model file is put in the object store once and written to each node's temp folder by the first task there.
GPU jobs ask for ``num_gpus``. A task whose worker dies, or that raises an unexpected error, is retried up to
``max_retries`` times by Ray before it is recorded as failed; a bad input is a failed result at once.
Usage statistics are off, no dashboard is started, and a cluster started here binds to 127.0.0.1.
OUTDIR and the inputs must be on a filesystem every node sees (a single machine always does).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from translate.batch.work import Task, remove_stale_partials, run_task
from translate.errors import UserError


def _ray():
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    try:
        import ray
    except ImportError:
        raise UserError("--ray needs Ray: pip install 'translate[ray]'") from None
    return ray


def connect(address: str, num_cpus: int | None = None) -> bool:
    """Join the cluster at ``address`` ('auto': a running one, else start one here). True if this call started Ray."""
    ray = _ray()
    if ray.is_initialized():
        return False
    quiet = {"log_to_driver": False, "configure_logging": True, "logging_level": "warning"}
    if address != "auto":
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, ValueError, RuntimeError) as e:
            raise UserError(f"cannot join the Ray cluster at {address} ({e}); start it with `ray start --head`") from None
        return True
    try:
        ray.init(address="auto", **quiet)
        return True
    except ConnectionError:  # no cluster running: start a local one on loopback
        pass
    ray.init(include_dashboard=False, _node_ip_address="127.0.0.1", num_cpus=num_cpus, **quiet)
    return True


def local_model_copy(model_bytes: bytes, sha256: str, name: str) -> str:
    """The model file on this node (written once per node, atomically, checked against its sha256)."""
    folder = Path(tempfile.gettempdir()) / "translate-ray-models" / sha256
    path = folder / name
    if path.is_file() and path.stat().st_size == len(model_bytes):
        return str(path)
    if hashlib.sha256(model_bytes).hexdigest() != sha256:
        raise RuntimeError("the model bytes from the object store do not match their sha256")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.partial-{os.getpid()}"
    tmp.write_bytes(model_bytes)
    os.replace(tmp, path)
    return str(path)


def _ray_task(task: Task, model_bytes: bytes, model_sha256: str, model_name: str, progress) -> dict[str, Any]:
    task.model_path = local_model_copy(model_bytes, model_sha256, model_name)

    def report(frames: int) -> None:
        if progress is not None:
            progress.put_nowait(frames)

    return run_task(task, report=report, raise_unexpected=True)


def wants_gpu(device: str, cluster_gpus: float) -> bool:
    return device.startswith("cuda") or (device == "auto" and cluster_gpus > 0)


def run_ray(tasks: list[Task], address: str, model_path: str, model_sha256: str, on_result: Callable[[Task, dict], None],
            on_frames: Callable[[int], None], max_retries: int = 2, num_cpus: int | None = None) -> None:
    """Run every task as a Ray task; ``on_result(task, result)`` is called here as each one ends."""
    if not tasks:
        return
    ray = _ray()
    started = connect(address, num_cpus)
    from ray.util.queue import Empty, Queue

    refs: dict[Any, Task] = {}
    try:
        device = str(tasks[0].options.get("device") or "auto")
        gpus = 1 if wants_gpu(device, ray.cluster_resources().get("GPU", 0)) else 0
        remote = ray.remote(_ray_task).options(num_cpus=1, num_gpus=gpus, max_retries=max_retries, retry_exceptions=True)
        model_ref = ray.put(Path(model_path).read_bytes())
        progress = Queue(actor_options={"num_cpus": 0})
        name = Path(model_path).name
        refs = {remote.remote(task, model_ref, model_sha256, name, progress): task for task in tasks}
        pending = list(refs)
        while pending:
            finished, pending = ray.wait(pending, num_returns=1, timeout=0.5)
            try:
                for frames in progress.get_nowait_batch(progress.qsize()):
                    on_frames(frames)
            except Empty:
                pass
            for ref in finished:
                task = refs.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as e:  # noqa: BLE001 - retries used up: record why
                    result = {"key": task.key, "part": task.part, "state": "failed", "seconds": 0.0,
                              "error": f"failed after {max_retries} retries: {_first_line(e)}"}
                on_result(task, result)
    except BaseException:
        for ref, task in refs.items():  # still running or queued: stop them and remove their partial outputs
            ray.cancel(ref, force=True)
        for task in refs.values():
            remove_stale_partials(Path(task.output))
        raise
    finally:
        if started:
            ray.shutdown()


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    last = [line for line in text if line.strip()]
    return f"{type(e).__name__}: {last[-1] if last else ''}".strip()
