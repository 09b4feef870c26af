"""The stabilize stage (translate video --temporal): less flicker, no trails, cuts reset, faces per track."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from translate.eval.metrics import psnr
from translate.eval.warp import flicker_of_frames
from translate.video.frames import FrameBatch
from translate.video.temporal import Stabilizer, TemporalConfig, TemporalStage


def pan(n: int = 10, size: int = 96, image=None) -> list[np.ndarray]:
    img = data.astronaut() if image is None else image
    return [cv2.warpAffine(img, np.float32([[1, 0, -t * 1.7], [0, 1, -t * 0.6]]), (512, 512),
                           flags=cv2.INTER_CUBIC)[150:150 + size, 150:150 + size] for t in range(n)]


def flickering_model(frames: list[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    """A per-frame 'model' that inverts colours and flickers: a global shift and grain, new each frame."""
    rng = np.random.default_rng(seed)
    return [np.clip(255.0 - f + rng.normal(0, 5) + rng.normal(0, 4, f.shape), 0, 255).astype(np.uint8) for f in frames]


def stabilise(sources, outputs, **config) -> list[np.ndarray]:
    stab = Stabilizer(TemporalConfig(**config))
    return [stab(s, o) for s, o in zip(sources, outputs)]


def test_flicker_drops_and_output_stays_close_to_the_model():
    frames = pan()
    framewise = flickering_model(frames)
    steady = stabilise(frames, framewise)
    before = flicker_of_frames(frames, framewise, "dis").e_warp_out
    after = flicker_of_frames(frames, steady, "dis").e_warp_out
    assert after < 0.6 * before
    assert np.mean([psnr(a, b) for a, b in zip(steady, framewise)]) > 30
    assert np.array_equal(steady[0], framewise[0])  # nothing to blend with on the first frame


def test_fidelity_floor_bounds_how_far_a_frame_moves_from_the_model():
    """A model that flickers wildly (grey shifts of +-40): each stabilised frame stays within the floor's PSNR."""
    frames = pan(8, size=64)
    rng = np.random.default_rng(5)
    framewise = [np.clip(255.0 - f + rng.choice([-40, 40]), 0, 255).astype(np.uint8) for f in frames]
    free = stabilise(frames, framewise, fidelity=0)
    assert min(psnr(a, b) for a, b in zip(free[1:], framewise[1:])) < 28  # unbounded, the blend moves it far
    stab = Stabilizer(TemporalConfig(fidelity=31))
    floored = [stab(s, o) for s, o in zip(frames, framewise)]
    assert min(psnr(a, b) for a, b in zip(floored[1:], framewise[1:])) > 30.9  # (uint8 rounding: a hair under 31)
    assert stab.limited > 0
    before = flicker_of_frames(frames, framewise, "dis").e_warp_out
    assert flicker_of_frames(frames, floored, "dis").e_warp_out < 0.9 * before  # still steadier


def test_moving_object_leaves_no_trail():
    """A bright square crossing a grey background fast: pixels it vacates are background again at once."""
    size, speed = 96, 10
    rng = np.random.default_rng(3)
    background = cv2.GaussianBlur(rng.integers(60, 140, (size, size, 3)).astype(np.uint8), (0, 0), 2)
    frames = []
    for t in range(7):
        f = background.copy()
        f[40:64, 5 + t * speed:29 + t * speed] = (250, 240, 30)
        frames.append(f)
    framewise = [np.clip(f + rng.normal(0, 3, f.shape), 0, 255).astype(np.uint8) for f in frames]  # grain to blend away
    steady = stabilise(frames, framewise, strength=0.9)
    for t in range(1, len(frames)):
        vacated = np.zeros((size, size), bool)
        vacated[40:64, 5 + (t - 1) * speed:5 + t * speed] = True  # the square's tail at t-1, background at t
        diff = np.abs(steady[t].astype(int) - background.astype(int))[vacated]  # the grain alone: ~2.4 on average
        assert diff.mean() < 4 and np.percentile(diff, 99) < 25, f"frame {t}: trail {diff.mean():.1f}"
    # (with the photometric check off, photometric=1e6, the square's colour stays behind: 8..27 on average)
    # (on grey levels instead of the largest RGB difference, photometric 30: 4.1, the square's edge bleeds)


def test_scene_cut_resets():
    a = pan(4)
    b = pan(4, image=data.coffee())
    frames = a + b
    framewise = flickering_model(frames)
    stab = Stabilizer(TemporalConfig())
    steady = [stab(s, o) for s, o in zip(frames, framewise)]
    assert np.array_equal(steady[4], framewise[4])  # the first frame after the cut is the model's own
    assert not np.array_equal(steady[5], framewise[5])
    assert stab.cuts == 1


def test_upscaled_output_uses_the_low_resolution_flow():
    frames = pan(8, size=64)
    framewise = [cv2.resize(o, (128, 128), interpolation=cv2.INTER_CUBIC) for o in flickering_model(frames)]
    steady = stabilise(frames, framewise)
    assert steady[3].shape == (128, 128, 3)
    assert flicker_of_frames(frames, steady, "dis").e_warp_out < 0.7 * flicker_of_frames(frames, framewise, "dis").e_warp_out


def test_stage_on_batches_and_on_face_tracks():
    frames = pan(6, size=64)
    framewise = flickering_model(frames)
    stage = TemporalStage(TemporalConfig())
    out = []
    for i in range(0, 6, 4):  # batches of 4 then 2: the state carries across batches
        batch = FrameBatch(np.stack(framewise[i:i + 4]), list(range(i, min(i + 4, 6))),
                           [{"source": f} for f in frames[i:i + 4]])
        result = stage.process(batch)
        assert all("source" not in m for m in result.meta)
        out.extend(result.frames)
    assert np.array_equal(np.stack(out), np.stack(stabilise(frames, framewise)))
    with pytest.raises(Exception, match="needs a translate stage"):
        stage.process(FrameBatch(np.stack(frames[:1]), [6]))

    faces = TemporalStage(TemporalConfig())
    other = pan(6, size=64, image=data.chelsea())
    other_out = flickering_model(other, seed=1)
    results = {0: [], 1: []}
    for t in range(6):
        tracks = [0, 1] if t != 3 else [0]  # track 1 is lost in frame 3 and comes back
        meta = {"faces": [{"track": k, "crop": (frames, other)[k][t], "translated": (framewise, other_out)[k][t]}
                          for k in tracks]}
        faces.process(FrameBatch(np.zeros((1, 8, 8, 3), np.uint8), [t], [meta]))
        for f in meta["faces"]:
            results[f["track"]].append(f["translated"])
    assert np.array_equal(np.stack(results[0]), np.stack(stabilise(frames, framewise)))
    assert np.array_equal(results[1][3], other_out[4])  # back after a gap: starts over from the model's output
    assert faces.close()["blended"] == 5 + 3


def test_video_temporal_chain_stabilize_and_yaml_key(tmp_path, capsys):
    """`video --temporal`, `chain ... stabilize` and a pipeline's `temporal:` key build the same chain and run."""
    import torch
    import yaml
    from conftest import translate_cli

    from translate.nets import build_generator
    from translate.video.ffmpeg import find_ffmpeg
    from translate.video.pipelines import load_pipeline
    from translate.video.reader import read_all_frames
    from translate.weights.modelfile import ModelInfo, save_model
    import subprocess

    torch.manual_seed(0)
    model = save_model(tmp_path / "g.safetensors", {"G": build_generator("resnet_6blocks", ngf=8)},
                       ModelInfo("translate", "cyclegan", {}, {"AtoB": ["G"]}, multiple=4))
    clip = tmp_path / "in.mp4"
    subprocess.run([find_ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-frames:v", "8",
                    "-pix_fmt", "yuv420p", str(clip)], check=True)
    common = ["--precision", "fp32", "--device", "cpu", "-q"]
    code, _, err = translate_cli(capsys, "video", str(clip), "--model", str(model), "--temporal", "--codec", "ffv1",
                                 "-o", str(tmp_path / "t.mkv"), *common)
    assert code == 0, err
    code, _, err = translate_cli(capsys, "chain", "-q", "read", str(clip), "translate", "--model", str(model),
                                 "--precision", "fp32", "--device", "cpu", "stabilize", "write", "--codec", "ffv1",
                                 str(tmp_path / "c.mkv"))
    assert code == 0, err
    assert np.array_equal(read_all_frames(tmp_path / "t.mkv"), read_all_frames(tmp_path / "c.mkv"))
    assert len(read_all_frames(tmp_path / "t.mkv")) == 8

    pipe = tmp_path / "p.yaml"
    pipe.write_text(yaml.safe_dump({"temporal": {"strength": 0.5}, "stages": [
        {"read": {}}, {"translate": {"model": str(model)}}, {"write": {"codec": "ffv1"}}]}))
    assert [name for name, _ in load_pipeline(pipe)] == ["read", "translate", "stabilize", "write"]
    assert load_pipeline(pipe, ["stabilize.strength=0.3"])[2][1] == {"strength": 0.3}
    code, _, err = translate_cli(capsys, "video", str(clip), "--model", str(model), "--temporal-strength", "1.5",
                                 "-o", str(tmp_path / "x.mkv"), *common)
    assert code == 2 and "temporal-strength" in err
