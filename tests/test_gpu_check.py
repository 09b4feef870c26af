"""scripts/gpu_check.sh on a machine without CUDA: it says so plainly and exits 0 (CUDA hidden, so on any machine)."""
import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.sh"


def test_without_cuda_it_says_so_and_exits_0():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHON": sys.executable}
    r = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "no CUDA GPU on this machine" in r.stderr and "nothing to check" in r.stderr
    assert [json.loads(line) for line in r.stdout.splitlines()] == [{"check": "gpu", "cuda": False, "ran": "nothing"}]
