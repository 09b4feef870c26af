#!/usr/bin/env bash
# The GPU check, for a machine with one CUDA GPU: at most 6 minutes, one JSON line per measurement on stdout.
#   1. the `gpu`-marked tests            2. CycleGAN 256 px training, fp32 vs auto (s/iter)
#   3. resnet_9blocks and srgan x4 inference (images/s)   4. `translate video --model srgan` frames/s, 720p clip
# Without CUDA it says so and exits 0 (nothing to check). Each step has its own time limit, so one that hangs
# costs its share and the others still run; the exit code is 1 if any step failed.
#
#   scripts/gpu_check.sh                 # PYTHON=/path/to/python to use another interpreter than .venv's
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3

if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    echo "gpu_check: no CUDA GPU on this machine (torch.cuda.is_available() is False); nothing to check." >&2
    echo '{"check": "gpu", "cuda": false, "ran": "nothing"}'
    exit 0
fi

failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -c 'import json, torch; print(json.dumps({"check": "gpu", "cuda": True, "gpu": torch.cuda.get_device_name(0),
    "torch": torch.__version__, "cuda_version": torch.version.cuda}))'

# step NAME SECONDS CMD...: runs CMD under a time limit; prints a JSON line with its exit code and wall time.
step() {
    local name=$1 limit=$2
    shift 2
    local t0=$SECONDS rc=0
    timeout "$limit" "$@" || rc=$?
    [ "$rc" -eq 0 ] || failed=1
    "$PY" -c 'import json, sys; print(json.dumps({"check": sys.argv[1], "rc": int(sys.argv[2]), "wall_s": int(sys.argv[3]),
        "timed_out": sys.argv[2] == "124"}))' "$name" "$rc" "$((SECONDS - t0))"
}

# 1. gpu-marked tests (pytest's summary on stderr, so stdout stays JSON lines)
step gpu_tests 120 "$PY" -m pytest -q -p no:cacheprovider -m gpu tests 1>&2

# 2. training: s/iter at reference settings (batch 1), each precision in its own process
step train_cyclegan256 90 "$PY" scripts/bench/train.py --configs cyclegan256 --precision fp32 auto --steps 20

# 3. inference through Translator
step infer 60 "$PY" scripts/bench/infer.py --models resnet_9blocks srgan_x4 --precision fp32 auto --batch 1 8 --n 32

# 4. the whole video pipeline: 720p in, x4 out (decode, model, encode overlapped), as a user runs it
video() {
    local ff frames=100
    ff=$("$PY" -c 'from translate.video.ffmpeg import find_ffmpeg; print(find_ffmpeg())') || return 1
    "$ff" -hide_banner -loglevel error -f lavfi -i "testsrc2=size=1280x720:rate=25" -frames:v "$frames" \
        -c:v libx264 -pix_fmt yuv420p "$tmp/in720.mp4" || return 1
    local t0 t1
    t0=$("$PY" -c 'import time; print(time.time())')
    "$PY" -m translate video "$tmp/in720.mp4" --model srgan -o "$tmp/out.mp4" -q 1>&2 || return 1
    t1=$("$PY" -c 'import time; print(time.time())')
    "$PY" -c 'import json, sys
from translate.video.probe import probe
out = probe(sys.argv[1], scan=True)
n, dt = int(sys.argv[2]), float(sys.argv[4]) - float(sys.argv[3])
print(json.dumps({"bench": "video", "model": "srgan", "input": "1280x720", "output": f"{out.width}x{out.height}",
                  "frames": n, "frames_out": out.frame_count, "wall_s": round(dt, 2), "frames_per_s": round(n / dt, 2)}))
sys.exit(0 if out.frame_count == n else 1)' "$tmp/out.mp4" "$frames" "$t0" "$t1"
}
step video_srgan_720p 90 bash -c "$(declare -f video); PY='$PY' tmp='$tmp' video"

exit "$failed"
