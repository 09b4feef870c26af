"""Train the bundled default detector (translate/weights/detector.safetensors) reproducibly, offline, on CPU.

    .venv/bin/python scripts/train_default_detector.py [--work runs/default-detector] [--install]

Real images: photos shipped inside installed packages (skimage.data, scikit-learn's sample images,
matplotlib's grace_hopper), each as the whole photo (at most 512 px) and 0.75x / 0.5x area-down-scaled
versions. Generated images: this project's generators run on the same photos:
  sr        the bundled SRGAN x4 when --srgan names an available model (default: 'srgan-tiny' if it is on this
            machine); otherwise a tiny SRResNet x4 (same pixel-shuffle up-sampler, 4 blocks, 32 features)
            trained here for a few hundred steps on L1. The figures say which one was used.
  cyclegan  resnet_6blocks (ngf 16) trained through the shared loop (CycleGAN, 64 px crops, photos <-> the
            same photos with red and blue swapped), applied to whole photos.
  pix2pix   unet_64 (ngf 16) trained through the shared loop (Pix2Pix: grey -> colour), applied to grey photos.
  discogan  the DiscoGAN generator (ngf 16) trained here as an L1 auto-encoder (no DiscoGAN method exists
            in the loop yet), applied to whole photos.
  faceswap  the 2017 face-swap auto-encoder (encoder + one decoder, width 16, 64 px) trained here on L1,
            applied to 64 px crops (it only takes 64 px inputs).
Generators are trained on the training photos only. Outputs of grey photos are turned grey again, so
colour never tells the classes apart. Train / validation / test are split by source photo (test photos
fixed below, validation drawn by --val-split inside the loop); both classes get the same degradations
(detect.data: resize, blur, JPEG, h264).

Figures (printed, written to WORK/figures.json, and with --install into the manifest entry): AUC / AP /
accuracy at the calibrated threshold on the held-out test photos, per generator family, again after h264
(crf 23) re-encoding of every test image, and a leave-one-family-out table (a detector trained without
that family's images, tested on them).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FAMILIES = ("sr", "cyclegan", "pix2pix", "discogan", "faceswap")
TEST_PHOTOS = ("astronaut", "coffee", "gravel", "china", "coins")
MAX_SIDE = 512
SEED = 0


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------------------ photos
def photos() -> dict[str, np.ndarray]:
    """Real photos shipped in installed packages, as uint8 RGB, at most MAX_SIDE px (area down-scaling)."""
    import matplotlib.cbook
    import skimage.data as d
    from sklearn.datasets import load_sample_image

    out = {}
    for name in ("astronaut", "chelsea", "coffee", "camera", "rocket", "coins", "hubble_deep_field",
                 "immunohistochemistry", "brick", "grass", "gravel", "retina", "moon", "clock", "cell", "page"):
        out[name] = getattr(d, name)()
    out["motorcycle"] = d.stereo_motorcycle()[0]
    out["china"] = load_sample_image("china.jpg")
    out["flower"] = load_sample_image("flower.jpg")
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        out["grace_hopper"] = np.asarray(Image.open(f).convert("RGB"))
    for k, img in out.items():
        img = np.asarray(img)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        img = img[..., :3].astype(np.uint8)
        s = MAX_SIDE / max(img.shape[:2])
        if s < 1:
            img = cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
        out[k] = np.ascontiguousarray(img)
    return out


def is_grey(img: np.ndarray) -> bool:
    return bool(np.all(img[..., 0] == img[..., 1]) and np.all(img[..., 1] == img[..., 2]))


def down(img: np.ndarray, f: float) -> np.ndarray:
    return cv2.resize(img, (max(8, round(img.shape[1] * f)), max(8, round(img.shape[0] * f))), interpolation=cv2.INTER_AREA)


def crop_to(img: np.ndarray, multiple: int) -> np.ndarray:
    h, w = img.shape[0] // multiple * multiple, img.shape[1] // multiple * multiple
    y, x = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
    return img[y:y + h, x:x + w]


def grey(img: np.ndarray) -> np.ndarray:
    y = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return np.repeat(y[..., None], 3, axis=2)


def random_crops(img: np.ndarray, size: int, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    h, w = img.shape[:2]
    return [img[y:y + size, x:x + size] for y, x in zip(rng.integers(0, h - size + 1, n), rng.integers(0, w - size + 1, n))]


def save(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


# ------------------------------------------------------------------------------------------ generators
def to_t(imgs, lo=-1.0, hi=1.0) -> torch.Tensor:
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float()
    return x * ((hi - lo) / 255.0) + lo


def to_u8(x: torch.Tensor, lo=-1.0, hi=1.0) -> np.ndarray:
    x = ((x.detach().float() - lo) * (255.0 / (hi - lo))).round().clamp(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def train_loop_model(method: str, args: list[str], work: Path) -> Path:
    """Train through the shared loop (`translate train METHOD ...`) in-process; returns model.safetensors."""
    from translate.cli.main import main

    run = work / "runs" / method
    if (run / "model.safetensors").exists():
        return run / "model.safetensors"
    shutil.rmtree(run, ignore_errors=True)
    try:
        main(["train", method, *args, "--out", str(work / "runs"), "--name", method, "--workers", "0",
              "--sample-every", "100000", "--save-every", "100000", "--log-every", "50", "--seed", str(SEED)])
    except SystemExit as e:
        if e.code:
            raise
    return run / "model.safetensors"


def train_autoencoder(nets: list[torch.nn.Module], crops: list[np.ndarray], steps: int, lo: float, hi: float,
                      lr: float = 5e-4) -> torch.nn.Sequential:
    """A plain L1 auto-encoder (nets applied in order), batch 8, Adam."""
    model = torch.nn.Sequential(*nets)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.5, 0.999))
    rng = np.random.default_rng(SEED)
    for _ in range(steps):
        x = to_t([crops[i] for i in rng.integers(0, len(crops), 8)], lo, hi)
        loss = torch.nn.functional.l1_loss(model(x), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


class Generators:
    """Each family: a function uint8 image -> uint8 generated image (inputs prepared per family)."""

    def __init__(self, train_photos: dict[str, np.ndarray], work: Path, srgan: str | None, steps: int):
        from translate.infer import Translator
        from translate.nets import build_generator

        rng = np.random.default_rng(SEED)
        crops64 = [c for img in train_photos.values() for c in random_crops(img, 64, 24, rng)]
        data = work / "gen_data"
        if not data.exists():
            for i, c in enumerate(crops64):
                save(data / "a" / f"{i:04d}.png", c)
                save(data / "b" / f"{i:04d}.png", c[..., ::-1].copy())
                save(data / "ab" / f"{i:04d}.png", np.concatenate([grey(c), c], axis=1))
        tiny = ["--size", "64", "--load-size", "64", "--preprocess", "crop", "--ngf", "16", "--ndf", "16",
                "--batch-size", "4", "--steps", str(steps)]
        log("training CycleGAN (tiny, shared loop)")
        self.cyclegan = Translator(train_loop_model("cyclegan", ["--a", str(data / "a"), "--b", str(data / "b"),
                                                                 "--netG", "resnet_6blocks", *tiny], work), device="cpu", precision="fp32")
        log("training Pix2Pix (tiny, shared loop)")
        self.pix2pix = Translator(train_loop_model("pix2pix", ["--data", str(data / "ab"), "--netG", "unet_64", *tiny], work),
                                  device="cpu", precision="fp32")
        torch.manual_seed(SEED)
        log("training DiscoGAN generator as an L1 auto-encoder")
        self.discogan = train_autoencoder([build_generator("discogan", ngf=16)], crops64, steps, -1.0, 1.0)
        log("training the face-swap auto-encoder (encoder + decoder) on L1")
        self.faceswap = train_autoencoder([build_generator("faceswap_encoder", input_size=64, width=16),
                                           build_generator("faceswap_decoder", input_size=64, width=16)],
                                          crops64, steps, 0.0, 1.0)
        self.sr_name = None
        if srgan:
            try:
                self.sr = Translator(srgan, device="cpu", precision="fp32", tasks=("sr",))
                self.sr_name = f"bundled {srgan} (x{self.sr.scale})"
            except Exception as e:  # noqa: BLE001 - fall back, and say so in the figures
                log(f"SR model {srgan!r} not usable ({e}); training a tiny SRResNet instead")
        if self.sr_name is None:
            log("training a tiny SRResNet x4 on L1")
            crops96 = [c for img in train_photos.values() for c in random_crops(img, 96, 12, rng)]
            net = build_generator("srgan", nf=32, n_blocks=4, scale=4)
            opt = torch.optim.Adam(net.parameters(), lr=2e-4)
            for _ in range(steps):
                hr = [crops96[i] for i in rng.integers(0, len(crops96), 8)]
                y = to_t(hr)
                x = to_t([down(c, 0.25) for c in hr])
                loss = torch.nn.functional.l1_loss(net(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
            self.sr_net = net.eval()
            self.sr_name = "tiny SRResNet x4 trained by this script (bundled srgan not available)"
        self.rng = np.random.default_rng(SEED + 1)

    @torch.no_grad()
    def __call__(self, family: str, img: np.ndarray) -> list[np.ndarray]:
        if family == "sr":
            lr = down(crop_to(img, 4), 0.25)
            if hasattr(self, "sr_net"):
                return [to_u8(self.sr_net(to_t([lr])))[0]]
            return [self.sr(lr)]
        if family == "cyclegan":
            return [self.cyclegan(crop_to(img, 4))]
        if family == "pix2pix":
            return [self.pix2pix(grey(crop_to(img, 64)))]
        if family == "discogan":
            return [to_u8(self.discogan(to_t([crop_to(img, 16)])))[0]]
        if family == "faceswap":
            crops = random_crops(img, 64, 4, self.rng)
            return list(to_u8(self.faceswap(to_t(crops, 0.0, 1.0)), 0.0, 1.0))
        raise ValueError(family)


def build_sets(work: Path, srgan: str | None, gen_steps: int) -> tuple[Path, Path, str]:
    """work/data/{trainval,test}/{real, fake/<family>}/<photo>__<version>.png; returns the two roots."""
    data = work / "data"
    done = data / ".done.json"
    if done.exists():
        return data / "trainval", data / "test", json.loads(done.read_text())["sr"]
    shutil.rmtree(data, ignore_errors=True)
    all_photos = photos()
    train = {k: v for k, v in all_photos.items() if k not in TEST_PHOTOS}
    gens = Generators(train, work, srgan, gen_steps)
    log(f"generating images for {len(all_photos)} photos x {len(FAMILIES)} families")
    for name, img in all_photos.items():
        side = data / ("test" if name in TEST_PHOTOS else "trainval")
        grey_src = is_grey(img)
        # six real versions per photo (so the threshold is set on enough real validation images), fakes
        # from the full and half-size ones
        for version, f in (("full", 1.0), ("x090", 0.9), ("x075", 0.75), ("x060", 0.6), ("x050", 0.5), ("x040", 0.4)):
            real = img if f == 1.0 else down(img, f)
            save(side / "real" / f"{name}__{version}.png", real)
            if version not in ("full", "x050"):
                continue
            for family in FAMILIES:
                for j, out in enumerate(gens(family, real)):
                    out = grey(out) if grey_src else out
                    save(side / "fake" / family / f"{name}__{family}_{version}_{j}.png", out)
    done.write_text(json.dumps({"sr": gens.sr_name}))
    return data / "trainval", data / "test", gens.sr_name


# ------------------------------------------------------------------------------------------ detector
def train_detector(name: str, real: Path, fake: Path, work: Path, steps: int) -> Path:
    return train_loop_model_named(name, ["--real", str(real), "--fake", str(fake), "--size", "64", "--batch-size", "32",
                                         "--steps", str(steps), "--width", "16", "--val-split", "0.2", "--fpr", "0.05",
                                         "--lr", "1e-3"], work)


def train_loop_model_named(name: str, args: list[str], work: Path) -> Path:
    from translate.cli.main import main

    run = work / "runs" / name
    if (run / "model.safetensors").exists():
        return run / "model.safetensors"
    shutil.rmtree(run, ignore_errors=True)
    try:
        main(["train", "detector", *args, "--out", str(work / "runs"), "--name", name, "--workers", "1",
              "--sample-every", "100000", "--save-every", "100000", "--log-every", "50", "--seed", str(SEED)])
    except SystemExit as e:
        if e.code:
            raise
    return run / "model.safetensors"


def family_view(trainval: Path, work: Path, leave_out: str) -> Path:
    """A fake folder without one family (hard links: folder listing does not follow symlinked folders)."""
    view = work / "views" / f"without_{leave_out}"
    if not view.exists():
        for fam in FAMILIES:
            if fam != leave_out:
                (view / fam).mkdir(parents=True)
                for f in (trainval / "fake" / fam).iterdir():
                    os.link(f, view / fam / f.name)
    return view


def scores_of(scorer, files: list[Path], h264: bool = False) -> np.ndarray:
    from translate.data.images import load_rgb
    from translate.detect.data import h264_roundtrip

    out = []
    for p in files:
        img = load_rgb(p)
        if h264:
            img = h264_roundtrip(img, 23)
        out.append(scorer.score_image(img))
    return np.array(out)


def figures(real: np.ndarray, fake: np.ndarray, threshold: float) -> dict:
    from translate.eval.metrics import accuracy_at, average_precision, roc_auc

    y = np.r_[np.zeros(real.size), np.ones(fake.size)]
    s = np.r_[real, fake]
    return {"auc": round(roc_auc(y, s), 4), "ap": round(average_precision(y, s), 4),
            "accuracy": round(accuracy_at(y, s, threshold), 4), "tpr": round(float(np.mean(fake > threshold)), 4),
            "fpr": round(float(np.mean(real > threshold)), 4), "n_real": int(real.size), "n_fake": int(fake.size)}


def evaluate(model: Path, test: Path, families=FAMILIES, h264: bool = True) -> dict:
    from translate.detect.scorer import Scorer

    scorer = Scorer(model, device="cpu")
    t = scorer.threshold
    real_files = sorted((test / "real").glob("*.png"))
    res = {"threshold": round(t, 4)}
    for variant in (("clean", False), ("h264_crf23", True)) if h264 else (("clean", False),):
        real = scores_of(scorer, real_files, variant[1])
        per, all_fake = {}, []
        for fam in families:
            fake = scores_of(scorer, sorted((test / "fake" / fam).glob("*.png")), variant[1])
            per[fam] = figures(real, fake, t)
            all_fake.append(fake)
        per["all"] = figures(real, np.concatenate(all_fake), t)
        res[variant[0]] = per
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="runs/default-detector", type=Path)
    ap.add_argument("--srgan", default="srgan-tiny", help="SR model for the 'sr' family ('' = train a tiny one here).")
    ap.add_argument("--gen-steps", type=int, default=150, help="Steps for each generator trained here.")
    ap.add_argument("--steps", type=int, default=500, help="Detector steps (batch 32).")
    ap.add_argument("--lofo-steps", type=int, default=150, help="Steps of each leave-one-family-out detector (0 = skip).")
    ap.add_argument("--install", action="store_true", help="Write translate/weights/detector.safetensors (fp16) and print the manifest entry.")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    t0 = time.time()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    trainval, test, sr_name = build_sets(work, args.srgan or None, args.gen_steps)
    log(f"data ready (sr family: {sr_name}); training the detector")
    model = train_detector("detector", trainval / "real", trainval / "fake", work, args.steps)
    from translate.weights.modelfile import read_info

    info = read_info(model)
    result = {"sr_family": sr_name, "test_photos": list(TEST_PHOTOS), "steps": args.steps,
              "validation": info.extra.get("validation"), "temperature": info.extra["temperature"],
              "threshold": info.extra["threshold"], "threshold_fpr": info.extra["threshold_fpr"]}
    log("evaluating on the held-out test photos (clean and h264 crf 23)")
    result["test"] = evaluate(model, test)
    (work / "figures.json").write_text(json.dumps(result, indent=2))
    if args.lofo_steps:
        result["leave_one_family_out"] = {"steps": args.lofo_steps}
        for fam in FAMILIES:
            log(f"leave-one-family-out: without {fam}")
            m = train_detector(f"without_{fam}", trainval / "real", family_view(trainval, work, fam), work, args.lofo_steps)
            r = evaluate(m, test, families=FAMILIES, h264=False)["clean"]
            result["leave_one_family_out"][fam] = {"left_out": r[fam], "seen_all": r["all"]}
            (work / "figures.json").write_text(json.dumps(result, indent=2))
    result["cpu_seconds"] = round(time.process_time(), 1)
    result["wall_seconds"] = round(time.time() - t0, 1)
    (work / "figures.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    if args.install:
        install(model, result)
    return 0


def install(model: Path, result: dict) -> None:
    from translate.weights.modelfile import file_sha256, load_model, save_model

    loaded = load_model(model)
    info = loaded.info
    info.name = "detector"
    clean, h264 = result["test"]["clean"]["all"], result["test"]["h264_crf23"]["all"]
    info.extra = {**info.extra, "test": {"clean": clean, "h264_crf23": h264}, "sr_family": result["sr_family"]}
    dest = ROOT / "translate" / "weights" / "detector.safetensors"
    save_model(dest, loaded.nets, info, half=True)
    sha = file_sha256(dest)
    log(f"installed {dest} ({dest.stat().st_size / 1e6:.2f} MB, sha256 {sha})")
    print(f"sha256 = \"{sha}\"\nsize = \"{dest.stat().st_size / 1e6:.1f} MB\"")


if __name__ == "__main__":
    sys.exit(main())
