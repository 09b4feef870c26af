"""Training from the page: a stop event from any thread saves a checkpoint and stops; Resume continues exactly."""
from __future__ import annotations

import json
import threading
import time

import pytest
from synthetic import images, swap_red_blue, write_images

from translate.errors import UserError
from translate.ui.train_job import TrainJobs, run_args, run_spec

TINY = ("--load-size 20 --ngf 4 --ndf 4 --netD pixel --netG resnet_6blocks --batch-size 2 --log-every 1 "
        "--sample-every 4 --save-every 1000 --precision fp32 --device cpu --seed 3")
STEPS = 5000  # never reached: every run here is stopped


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("train-ui")
    write_images(root / "a", images(6, 24, 1))
    write_images(root / "b", [swap_red_blue(x) for x in images(6, 24, 2)])
    return root / "a", root / "b"


def steps_logged(run_dir) -> list[int]:
    path = run_dir / "log.jsonl"
    return [json.loads(line)["step"] for line in path.read_text().splitlines()] if path.exists() else []


def train_in_thread(jobs: TrainJobs, folders, resume: bool = False) -> tuple[threading.Thread, list]:
    outcome: list = []

    def work():
        try:
            outcome.append(jobs.train("cyclegan", str(folders[0]), str(folders[1]), "r", STEPS, 16, TINY, resume=resume))
        except BaseException as e:  # noqa: BLE001 - handed to the test
            outcome.append(e)

    thread = threading.Thread(target=work)
    thread.start()
    return thread, outcome


def wait_until(condition, timeout=240.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def test_stop_from_another_thread_saves_and_resume_continues(folders, tmp_path, one_torch_thread):
    import torch

    jobs = TrainJobs(tmp_path / "runs")
    run_dir = jobs.run_dir("r")
    thread, outcome = train_in_thread(jobs, folders)
    wait_until(lambda: len(steps_logged(run_dir)) >= 5 or not thread.is_alive())
    view = jobs.view("r")  # what the page shows while it trains
    assert "training" in view.status and "step" in view.status
    assert view.sample is not None and view.sample.name == "step_00000004.png"
    assert view.losses is not None  # losses.png is redrawn with each sample grid, not only at the end
    assert jobs.stop("r").startswith("stopping r")
    thread.join(120)
    assert isinstance(outcome[0], str) and outcome[0].startswith("stopped at step"), outcome
    stopped = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["step"]
    assert 5 <= stopped < STEPS and f"step {stopped};" in outcome[0]
    assert (run_dir / "model.safetensors").is_file() and "idle" in jobs.view("r").status
    assert jobs.stop("r") == "run r is not training"

    thread, outcome = train_in_thread(jobs, folders, resume=True)
    wait_until(lambda: len(steps_logged(run_dir)) >= stopped + 3 or not thread.is_alive())
    jobs.stop("r")
    thread.join(120)
    assert outcome[0].startswith("stopped at step"), outcome
    steps = steps_logged(run_dir)
    assert steps == list(range(1, len(steps) + 1)) and len(steps) > stopped  # continued, no step twice


def test_stop_event_set_before_the_first_step_stops_after_it(folders, tmp_path, one_torch_thread):
    from translate.training import start_run

    spec, explicit = run_spec("cyclegan", run_args("cyclegan", str(folders[0]), str(folders[1]), "s", STEPS, 16, TINY,
                                                   tmp_path / "runs"))
    stop = threading.Event()
    stop.set()
    assert start_run(spec, False, explicit, stop=stop) == 130  # the exit code Ctrl-C gives
    assert steps_logged(tmp_path / "runs" / "s") == [1]
    assert (tmp_path / "runs" / "s" / "checkpoints" / "last.pt").is_file()


def test_form_errors_are_one_line(folders, tmp_path):
    a, b = str(folders[0]), str(folders[1])
    with pytest.raises(UserError, match="folder B 'nope' is not a folder"):
        run_args("cyclegan", a, "nope", "r", 10, 16, "", tmp_path)
    with pytest.raises(UserError, match="run name"):
        run_args("cyclegan", a, b, "../escape", 10, 16, "", tmp_path)
    with pytest.raises(UserError, match="--out and --resume are set by the page"):
        run_args("cyclegan", a, b, "r", 10, 16, "--out /elsewhere", tmp_path)
    with pytest.raises(UserError, match="No such option"):
        run_spec("cyclegan", run_args("cyclegan", a, b, "r", 10, 16, "--no-such-flag", tmp_path))
    spec, _ = run_spec("cyclegan", run_args("cyclegan", a, b, "r", 10, 16, "--steps 7", tmp_path))
    assert spec.loop.steps == 7 and spec.loop.out == str(tmp_path)  # typed options beat the form; --out stays
    spec, _ = run_spec("detector", run_args("detector", a, b, "d", 10, 16, "", tmp_path))  # --real/--fake
    assert (spec.data.a, spec.data.b) == (a, b)
