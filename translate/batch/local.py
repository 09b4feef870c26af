"""The local engine: N worker processes (spawned, so each loads its own model and torch), one task at a time each.

With one worker the tasks run here, one after another (no process to start; the same code, the same results).

Workers send frame counts through a queue for the batch's one progress bar and return each task's result
dict. Ctrl-C: the workers get SIGINT too (or are sent it), so each running chain removes its partial
output; finished outputs stay, and tasks not started are cancelled.
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable

from translate.batch.work import Task, run_task

_PROGRESS: Any = None  # the progress queue, set in each worker process by _init_worker


def _init_worker(progress_queue) -> None:
    global _PROGRESS
    _PROGRESS = progress_queue


def _report(frames: int) -> None:
    if _PROGRESS is not None:
        _PROGRESS.put(frames)


def _work(task: Task) -> dict[str, Any]:
    return run_task(task, report=_report)


def _drain(progress_queue, on_frames: Callable[[int], None], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            on_frames(progress_queue.get(timeout=0.2))
        except queue.Empty:
            continue
        except (EOFError, OSError):
            return


def run_local(tasks: list[Task], workers: int, on_result: Callable[[Task, dict], None],
              on_frames: Callable[[int], None]) -> None:
    """Run ``tasks`` on ``workers`` processes; ``on_result(task, result)`` is called here as each one ends."""
    if not tasks:
        return
    if workers <= 1:
        for task in tasks:
            on_result(task, run_task(task, report=on_frames))
        return
    ctx = multiprocessing.get_context("spawn")
    progress_queue = ctx.Queue()
    stop = threading.Event()
    drain = threading.Thread(target=_drain, args=(progress_queue, on_frames, stop), daemon=True)
    drain.start()
    pool = ProcessPoolExecutor(max_workers=max(1, min(workers, len(tasks))), mp_context=ctx,
                               initializer=_init_worker, initargs=(progress_queue,))
    try:
        futures = {pool.submit(_work, task): task for task in tasks}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                task = futures[future]
                try:
                    result = future.result()
                except Exception as e:  # noqa: BLE001 - a worker that died (killed, out of memory)
                    result = {"key": task.key, "part": task.part, "state": "failed", "seconds": 0.0,
                              "error": f"the worker process died ({type(e).__name__}: {e})"}
                on_result(task, result)
    except BaseException:
        _interrupt_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        stop.set()
        drain.join(timeout=2)


def _interrupt_workers(pool: ProcessPoolExecutor) -> None:
    """SIGINT to every worker, so a running chain aborts and removes its partial output."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            os.kill(process.pid, signal.SIGINT)
        except (ProcessLookupError, OSError):
            pass
