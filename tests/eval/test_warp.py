"""The flicker metric (warping error, Lai et al. 2018) on synthetic clips whose motion is known."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from skimage import data

from translate.eval.warp import FlickerMeter, flicker_of_frames, masked_error
from translate.video.flow import DISFlow, consistent, scale_flow, warp


def pan(n: int = 8, step: tuple[float, float] = (1.7, 0.6), size: int = 96) -> list[np.ndarray]:
    """A smooth sub-pixel pan over a real photo (the astronaut)."""
    img = data.astronaut()
    return [cv2.warpAffine(img, np.float32([[1, 0, -t * step[0]], [0, 1, -t * step[1]]]), (512, 512),
                           flags=cv2.INTER_CUBIC)[150:150 + size, 150:150 + size] for t in range(n)]


def invert(frame: np.ndarray) -> np.ndarray:
    return 255 - frame


def test_flow_follows_a_known_shift():
    a, b = pan(2, step=(3.0, 0.0))
    flow = DISFlow("medium")(a, b)  # a(x) ~ b(x + flow): the camera moved right, content moves left in b
    assert np.median(flow[..., 0]) == pytest.approx(-3.0, abs=0.3)
    assert np.median(flow[..., 1]) == pytest.approx(0.0, abs=0.3)
    up = scale_flow(flow, 192, 192)
    assert up.shape == (192, 192, 2) and np.median(up[..., 0]) == pytest.approx(-6.0, abs=0.6)


def test_translated_copy_of_a_pan_scores_low_and_per_frame_noise_high():
    frames = pan()
    clean = flicker_of_frames(frames, [invert(f) for f in frames], "dis")
    rng = np.random.default_rng(0)
    noisy = [np.clip(invert(f) + rng.normal(0, 10, f.shape), 0, 255).astype(np.uint8) for f in frames]
    flicker = flicker_of_frames(frames, noisy, "dis")
    assert clean.ratio == pytest.approx(1.0, abs=0.1)  # a pixel-wise map moves with its input
    assert clean.e_warp_out < 0.003
    # noise of sigma 10 adds about 3 (10/255)^2 (1 + the share bilinear warping keeps, ~0.3) ~ 0.006
    assert flicker.e_warp_out > clean.e_warp_out + 0.004
    assert len(flicker.frames) == len(frames) - 1 and flicker.e_warp_in == clean.e_warp_in


def moving_square(n: int = 6, speed: int = 6, size: int = 96) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A textured square crossing a static textured background: frames and the square's mask in each."""
    rng = np.random.default_rng(1)
    background = cv2.GaussianBlur(rng.integers(0, 256, (size, size, 3)).astype(np.uint8), (0, 0), 1.5)
    square = cv2.GaussianBlur(rng.integers(0, 256, (32, 32, 3)).astype(np.uint8), (0, 0), 2.0)
    frames, masks = [], []
    for t in range(n):
        f, m = background.copy(), np.zeros((size, size), bool)
        x = 10 + t * speed
        f[30:62, x:x + 32] = square
        m[30:62, x:x + 32] = True
        frames.append(f)
        masks.append(m)
    return frames, masks


def test_occluded_pixels_are_excluded():
    frames, masks = moving_square()
    flow = DISFlow("medium")
    revealed_visible, background_visible, masked, unmasked = [], [], 0.0, 0.0
    for t in range(1, len(frames)):
        backward, forward = flow(frames[t], frames[t - 1]), flow(frames[t - 1], frames[t])
        visible = consistent(backward, forward)
        revealed = masks[t - 1] & ~masks[t]  # background at t, behind the square at t-1: no match exists
        revealed_visible.append(visible[revealed].mean())
        background_visible.append(visible[~masks[t] & ~masks[t - 1]].mean())
        prev_warped = warp(frames[t - 1] / 255.0, backward)
        masked += masked_error(frames[t] / 255.0, prev_warped, visible.astype(float))
        unmasked += masked_error(frames[t] / 255.0, prev_warped, np.ones(visible.shape))
    assert np.mean(revealed_visible) < 0.3  # (DIS smears a little at the edges)
    assert np.mean(background_visible) > 0.8  # the static background is kept
    assert masked < unmasked / 3
    # the unchanged video scores (near) zero, although its revealed pixels match nothing
    copy = flicker_of_frames(frames, frames, "dis")
    assert copy.e_warp_out < 0.001 and copy.ratio == pytest.approx(1.0)


def test_output_of_another_size_is_compared_on_its_own_grid():
    frames = pan(5)
    up = [cv2.resize(f, (192, 192), interpolation=cv2.INTER_CUBIC) for f in frames]
    result = flicker_of_frames(frames, up, "dis")
    assert result.e_warp_out < 2 * result.e_warp_in + 0.002


def test_meter_refuses_a_size_change():
    meter = FlickerMeter(DISFlow())
    a = pan(1)[0]
    meter.add(0, a, a)
    with pytest.raises(Exception, match="changes size"):
        meter.add(1, a, a[:80])


def test_eval_video_cli_table_json_and_reference(tmp_path, capsys):
    from conftest import translate_cli
    from translate.video.writer import FrameWriter
    from translate.video.frames import StreamInfo
    from fractions import Fraction

    frames = pan(6, size=64)
    rng = np.random.default_rng(2)
    noisy = [np.clip(f + rng.normal(0, 8, f.shape), 0, 255).astype(np.uint8) for f in frames]

    def write(name, clip):
        w = FrameWriter(tmp_path / name, codec="ffv1")
        w.open(StreamInfo(64, 64, Fraction(25)), {})
        w.write(np.stack(clip))
        return w.close()["path"]

    a, b = write("in.mkv", frames), write("out.mkv", noisy)
    code, out, err = translate_cli(capsys, "eval", "video", str(a), str(b), "--reference", str(a),
                                   "--flow", "dis", "--json", str(tmp_path / "r.json"))
    assert code == 0, err
    assert "E_warp(OUT)" in out and "PSNR vs REF" in out
    line = json.loads(out.strip().splitlines()[-1])
    assert {"e_warp_out", "e_warp_in", "ratio", "frames", "psnr", "ssim"} <= set(line)
    assert len(line["frames"]) == 5 and line["ratio"] > 2
    assert 25 < line["psnr"] < 35
    assert json.loads((tmp_path / "r.json").read_text())["e_warp_out"] == line["e_warp_out"]
    code, out, err = translate_cli(capsys, "eval", "video", str(a), str(tmp_path / "missing.mp4"))
    assert code == 1 and "error:" in err and "no such file" in err
