"""The bundled detector's data: real images and the generated images made from them (scripts/train_default_detector.py).

    real        photos and video frames from ../shared/data (sr/BSD100 HR, faces/*, frames of video/*,
                sr/realworld_lq) and the photos inside installed packages (skimage, scikit-learn, matplotlib)
    cyclegan    resnet_6blocks ngf 16 trained here through the shared loop (photo <-> red/blue swapped photo)
    pix2pix     unet_64 ngf 16 trained here through the shared loop (grey -> colour), run on grey photos
    discogan    the DiscoGAN generator ngf 16 trained here as an L1 auto-encoder
    faceswap    the 2017 face-swap auto-encoder (64 px) trained here on real face crops, its output pasted
                back over the face with a feathered mask (as face-swap tools do)
    sr          srgan, srresnet and srgan-tiny x4 on the x1/4 area-down-scaled photo
    realesrgan  realesrgan-x4plus, -x4plus-anime and realesr-animevideov3 (shared/data/weights) the same way

Every image has a *source* (a photo, or a whole video); sources are split into training and validation before
anything is generated, and the generators are trained on training sources only, so no photo or video gives
pixels to both sides. Each generated image is made from a real image of its own side; its file name starts
with the source (``<source>__<family>-<model>-<k>.png``), as `translate train detector` expects.
Grey sources give grey fakes, so colour never tells the classes apart. Small versions (short side 64-200 px)
of both classes exist because `translate detect` meets small images too (the demo's source clip is 120x80).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
FAMILIES = ("cyclegan", "pix2pix", "discogan", "faceswap", "sr", "realesrgan")
SR_MODELS = ("srgan", "srresnet", "srgan-tiny")
REALESRGAN_MODELS = ("realesrgan-x4plus", "realesrgan-x4plus-anime", "realesr-animevideov3")
MAX_SIDE = 512
VAL_FRACTION = 0.3
SEED = 0


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------------------ real images
def rgb(img) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return np.ascontiguousarray(img[..., :3].astype(np.uint8))


def fit(img: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    s = max_side / max(img.shape[:2])
    return down(img, s) if s < 1 else img


def down(img: np.ndarray, f: float) -> np.ndarray:
    return cv2.resize(img, (max(8, round(img.shape[1] * f)), max(8, round(img.shape[0] * f))), interpolation=cv2.INTER_AREA)


def package_photos() -> dict[str, np.ndarray]:
    import matplotlib.cbook
    import skimage.data as d
    from sklearn.datasets import load_sample_image

    out = {}
    for name in ("astronaut", "chelsea", "coffee", "camera", "rocket", "coins", "hubble_deep_field",
                 "immunohistochemistry", "brick", "grass", "gravel", "retina", "moon", "clock", "cell", "page"):
        out[f"pkg-{name}"] = rgb(getattr(d, name)())
    out["pkg-motorcycle"] = rgb(d.stereo_motorcycle()[0])
    out["pkg-china"] = rgb(load_sample_image("china.jpg"))
    out["pkg-flower"] = rgb(load_sample_image("flower.jpg"))
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        out["pkg-grace_hopper"] = rgb(Image.open(f).convert("RGB"))
    return out


def video_frames(path: Path, n: int, seconds: float = 10.0) -> list[np.ndarray]:
    """``n`` frames spread over the first ``seconds`` of the clip (decoded with the project's reader)."""
    from translate.video.reader import FrameReader

    reader = FrameReader(path, batch_size=16, end=seconds)
    try:
        frames = [f for batch in reader for f in batch.frames]
    finally:
        reader.close()
    keep = np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int)
    return [np.ascontiguousarray(frames[i]) for i in keep]


def real_images(frames_per_video: int = 8) -> list[tuple[str, str, np.ndarray]]:
    """(source, name, uint8 RGB at most MAX_SIDE px) of every real image; one source per photo or video."""
    out = [(k, k, fit(v)) for k, v in package_photos().items()]
    for p in sorted((SHARED / "sr" / "BSD100").glob("*_HR.png")):
        out.append((f"bsd-{p.stem.split('_')[1]}", p.stem, fit(rgb(Image.open(p).convert("RGB")))))
    for p in sorted((SHARED / "sr" / "realworld_lq").iterdir()):
        if p.suffix.lower() in (".png", ".jpg", ".jpeg"):
            out.append((f"lq-{p.stem}", p.stem, fit(rgb(Image.open(p).convert("RGB")))))
    for folder in sorted((SHARED / "faces").iterdir()):
        for p in sorted(folder.iterdir()):
            if p.suffix.lower() in (".png", ".jpg", ".jpeg"):
                # 300-W names are <photo>_<face>: faces of one photo share the photo
                photo = p.stem.rsplit("_", 1)[0] if folder.name.startswith("300w") else p.stem
                out.append((f"face-{folder.name}-{photo}", p.stem, fit(rgb(Image.open(p).convert("RGB")))))
    for p in sorted((SHARED / "video").glob("*.mp4")):
        for j, frame in enumerate(video_frames(p, frames_per_video)):
            out.append((f"video-{p.stem}", f"{p.stem}-f{j}", fit(frame)))
    # one entry per (source, name)
    seen, unique = set(), []
    for s, n, img in out:
        if (s, n) not in seen:
            seen.add((s, n))
            unique.append((s.replace("__", "_"), n.replace("__", "_"), img))
    return unique


def side_of(source: str, val_fraction: float = VAL_FRACTION) -> str:
    """'train' or 'val' by a hash of the source name: stable whatever else is added to the data."""
    h = int(hashlib.sha256(f"{SEED}:{source}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "val" if h < val_fraction else "train"


# ------------------------------------------------------------------------------------------ helpers
def is_grey(img: np.ndarray) -> bool:
    return bool(np.all(img[..., 0] == img[..., 1]) and np.all(img[..., 1] == img[..., 2]))


def grey(img: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def crop_to(img: np.ndarray, multiple: int) -> np.ndarray:
    h, w = img.shape[0] // multiple * multiple, img.shape[1] // multiple * multiple
    y, x = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
    return img[y:y + h, x:x + w]


def random_crops(img: np.ndarray, size: int, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    h, w = img.shape[:2]
    if h < size or w < size:
        return []
    return [img[y:y + size, x:x + size] for y, x in zip(rng.integers(0, h - size + 1, n), rng.integers(0, w - size + 1, n))]


def save(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.png")
    Image.fromarray(img).save(tmp)
    tmp.replace(path)


def to_t(imgs, lo=-1.0, hi=1.0) -> torch.Tensor:
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float()
    return x * ((hi - lo) / 255.0) + lo


def to_u8(x: torch.Tensor, lo=-1.0, hi=1.0) -> np.ndarray:
    x = ((x.detach().float() - lo) * (255.0 / (hi - lo))).round().clamp(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def feather_mask(h: int, w: int) -> np.ndarray:
    """An ellipse inside the box, blurred: face-swap tools blend the swapped face in like this."""
    m = np.zeros((h, w), np.float32)
    cv2.ellipse(m, (w // 2, h // 2), (max(1, int(w * 0.4)), max(1, int(h * 0.45))), 0, 0, 360, 1.0, -1)
    k = max(3, (min(h, w) // 6) | 1)
    return cv2.GaussianBlur(m, (k, k), 0)[..., None]


# ------------------------------------------------------------------------------------------ generators
def train_loop_model(method: str, args: list[str], work: Path) -> Path:
    """Train through the shared loop (`translate train METHOD ...`) in-process; returns model.safetensors."""
    from translate.cli.main import main

    run = work / "runs" / method
    if (run / "model.safetensors").exists():
        return run / "model.safetensors"
    shutil.rmtree(run, ignore_errors=True)
    try:
        main(["train", method, *args, "--out", str(work / "runs"), "--name", method, "--workers", "0", "--quiet",
              "--sample-every", "100000", "--save-every", "100000", "--log-every", "50", "--seed", str(SEED),
              "--precision", "fp32"])
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


def realesr_animevideov3(work: Path) -> str | None:
    """The released animevideov3 file, imported once into the work folder (None if shared/data lacks it)."""
    src = SHARED / "weights" / "realesr-animevideov3.pth"
    dest = work / "imported" / "realesr-animevideov3.safetensors"
    if dest.exists():
        return str(dest)
    if not src.exists():
        return None
    from translate.cli.main import main

    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        main(["weights", "import", str(src), "-o", str(dest)])
    except SystemExit as e:
        if e.code:
            raise
    return str(dest)


class Generators:
    """``gens(family, image, faces)`` -> [(model name, uint8 generated image)]."""

    def __init__(self, train_images: list[np.ndarray], train_faces: list[np.ndarray], work: Path, steps: int,
                 ae_steps: int = 300):
        from translate.infer import Translator
        from translate.nets import build_generator

        rng = np.random.default_rng(SEED)
        crops64 = [c for img in train_images for c in random_crops(img, 64, 6, rng)]
        data = work / "gen_data"
        if not (data / ".done").exists():
            shutil.rmtree(data, ignore_errors=True)
            for i, c in enumerate(crops64):
                save(data / "a" / f"{i:04d}.png", c)
                save(data / "b" / f"{i:04d}.png", c[..., ::-1].copy())
                save(data / "ab" / f"{i:04d}.png", np.concatenate([grey(c), c], axis=1))
            (data / ".done").write_text("")
        tiny = ["--size", "64", "--load-size", "64", "--preprocess", "crop", "--ngf", "16", "--ndf", "16",
                "--batch-size", "4", "--steps", str(steps)]  # GAN steps cost ~5 s each on a busy 2-core CPU
        log("training CycleGAN (resnet_6blocks ngf 16, shared loop)")
        self.cyclegan = Translator(train_loop_model("cyclegan", ["--a", str(data / "a"), "--b", str(data / "b"),
                                                                 "--netG", "resnet_6blocks", *tiny], work),
                                   device="cpu", precision="fp32")
        log("training Pix2Pix (unet_64 ngf 16, shared loop)")
        self.pix2pix = Translator(train_loop_model("pix2pix", ["--data", str(data / "ab"), "--netG", "unet_64", *tiny], work),
                                  device="cpu", precision="fp32")
        torch.manual_seed(SEED)
        log("training the DiscoGAN generator as an L1 auto-encoder")
        self.discogan = train_autoencoder([build_generator("discogan", ngf=16)], crops64, ae_steps, -1.0, 1.0)
        log(f"training the face-swap auto-encoder on {len(train_faces)} real face crops")
        faces64 = [cv2.resize(f, (64, 64), interpolation=cv2.INTER_AREA) for f in train_faces] or crops64
        self.faceswap = train_autoencoder([build_generator("faceswap_encoder", input_size=64, width=16),
                                           build_generator("faceswap_decoder", input_size=64, width=16)],
                                          faces64, ae_steps, 0.0, 1.0)
        self.sr = {}
        for name in SR_MODELS + REALESRGAN_MODELS:
            ref = realesr_animevideov3(work) if name == "realesr-animevideov3" else name
            if ref is None:
                log(f"{name}: not available, skipped")
                continue
            self.sr[name] = Translator(ref, device="cpu", precision="fp32", tasks=("sr",))

    def models(self, family: str) -> list[str]:
        if family == "sr":
            return [m for m in SR_MODELS if m in self.sr]
        if family == "realesrgan":
            return [m for m in REALESRGAN_MODELS if m in self.sr]
        return [family]

    @torch.no_grad()
    def __call__(self, family: str, model: str, img: np.ndarray, faces: list) -> np.ndarray | None:
        if family in ("sr", "realesrgan"):
            if model == "realesrgan-x4plus":  # 23 RRDB blocks: ~30 s for a 480x320 output on 2 cores
                img = fit(img, 256)
            lr = down(crop_to(img, 4), 0.25)
            return self.sr[model](lr) if min(lr.shape[:2]) >= 8 else None
        if family == "cyclegan":
            return self.cyclegan(crop_to(img, 4))
        if family == "pix2pix":
            return self.pix2pix(grey(crop_to(img, 64))) if min(img.shape[:2]) >= 64 else None
        if family == "discogan":
            return to_u8(self.discogan(to_t([crop_to(img, 16)])))[0] if min(img.shape[:2]) >= 16 else None
        if family == "faceswap":
            return self.swap_faces(img, faces)
        raise ValueError(family)

    def swap_faces(self, img: np.ndarray, faces: list) -> np.ndarray | None:
        """Every face through the auto-encoder at 64 px, resized back and pasted with a feathered mask."""
        from translate.detect.crops import expand_box

        if not faces:
            return None
        out = img.astype(np.float32)
        for box in faces:
            r = expand_box(box, img.shape[:2], 1.1)
            h, w = r.y1 - r.y0, r.x1 - r.x0
            if min(h, w) < 16:
                continue
            x = cv2.resize(img[r.y0:r.y1, r.x0:r.x1], (64, 64), interpolation=cv2.INTER_AREA)
            y = to_u8(self.faceswap(to_t([x], 0.0, 1.0)), 0.0, 1.0)[0]
            y = cv2.resize(y, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float32)
            m = feather_mask(h, w)
            out[r.y0:r.y1, r.x0:r.x1] = m * y + (1 - m) * out[r.y0:r.y1, r.x0:r.x1]
        return np.clip(out.round(), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------ the sets
def find_faces(images: list[tuple[str, str, np.ndarray]]) -> list[list]:
    """Face boxes of every image (the default face detector), [] where none."""
    from translate.faces.landmarks import make_detector

    det = make_detector("auto", device="cpu")
    out = []
    for _, _, img in images:
        try:
            out.append([np.asarray(f.box, np.float64) for f in det.detect(img)])
        except Exception:  # noqa: BLE001 - a detector failure on one image only loses its faces
            out.append([])
    return out


def small(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A small version: short side 64-200 px (area down-scaling)."""
    return down(img, min(1.0, float(rng.uniform(64, 200)) / min(img.shape[:2])))


def families_for(i: int, variant: str, has_faces: bool) -> list[str]:
    """Which families are made from real image ``i``: face swaps of every face, plus two of the others (one
    for a small version), round robin, so each family gets a share of every kind of source."""
    others = [f for f in FAMILIES if f != "faceswap"]
    k = 2 if variant == "full" else 1
    picked = [others[(2 * i + j + (variant != "full")) % len(others)] for j in range(k)]
    return (["faceswap"] if has_faces else []) + picked


def build(work: Path, gen_steps: int = 30, frames_per_video: int = 8, ae_steps: int = 300) -> Path:
    """work/data/{train,val}/{real,fake/<family>}/*.png and work/data/index.json (one record per image)."""
    data = work / "data"
    index = data / "index.json"
    if index.exists():
        return data
    shutil.rmtree(data, ignore_errors=True)
    log("reading real images")
    reals = real_images(frames_per_video)
    faces = find_faces(reals)
    rng = np.random.default_rng(SEED)
    sides = [side_of(s) for s, _, _ in reals]
    train_imgs = [img for (s, _, img), side in zip(reals, sides) if side == "train"]
    train_faces = []
    from translate.detect.crops import expand_box

    for (_, _, img), fs, side in zip(reals, faces, sides):
        for b in fs if side == "train" else []:
            r = expand_box(b, img.shape[:2], 1.1)
            train_faces.append(r.crop(img))
    gens = Generators(train_imgs, train_faces, work, gen_steps, ae_steps)
    records = []
    t0 = time.time()
    for i, ((source, name, img), fs, side) in enumerate(zip(reals, faces, sides)):
        variants = [("full", img, fs)]
        if min(img.shape[:2]) > 200:
            s = small(img, rng)
            f = s.shape[0] / img.shape[0]
            variants.append(("small", s, [b * f for b in fs]))
        grey_src = is_grey(img)
        for vname, im, vf in variants:
            rel = Path(side) / "real" / f"{source}__{name}-{vname}.png"
            save(data / rel, im)
            records.append({"path": str(rel), "label": 0, "family": "real", "model": "real", "source": source,
                            "side": side, "faces": [list(map(float, b)) for b in vf]})
            for fam in families_for(i, vname, bool(vf)):
                models = gens.models(fam)
                if not models:
                    continue
                model = models[(i + len(records)) % len(models)]  # one model of the family per image
                out = gens(fam, model, im, vf)
                if out is None:
                    continue
                out = grey(out) if grey_src else out
                rel = Path(side) / "fake" / fam / f"{source}__{name}-{vname}-{model}.png"
                save(data / rel, out)
                records.append({"path": str(rel), "label": 1, "family": fam, "model": model, "source": source,
                                "side": side, "faces": [list(map(float, b)) for b in vf]
                                if fam == "faceswap" or out.shape[:2] == im.shape[:2] else []})
        if i % 20 == 0:
            log(f"{i + 1}/{len(reals)} real images done ({time.time() - t0:.0f} s)")
    index.write_text(json.dumps({"records": records, "gen_steps": gen_steps, "ae_steps": ae_steps,
                                 "val_fraction": VAL_FRACTION}, indent=1))
    return data


# ------------------------------------------------------------------------------------------ real-world up-scales
# Up-scalers are run on small, already-compressed pictures: a phone clip, a thumbnail, a re-encoded frame (the
# demo's 120x80 clip is h264). The sr and realesrgan families above start from clean area-down-scaled photos,
# so a second stage adds one up-scale of every real image from a degraded low-resolution input.
UPSCALE_MODELS = ("srgan", "srresnet", "srgan-tiny", "realesr-animevideov3", "realesrgan-x4plus-anime")
LR_KERNELS = {"area": cv2.INTER_AREA, "bicubic": cv2.INTER_CUBIC, "bilinear": cv2.INTER_LINEAR}


def degraded_lr(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """(x1/4 input, how it was made): a random down-scaling kernel (sometimes after a slight blur), then
    mostly compressed: h264 crf 16-30 (a video frame) or JPEG 50-95 (a photo)."""
    import albumentations as A

    from translate.detect.data import h264_roundtrip

    kernel = list(LR_KERNELS)[int(rng.integers(len(LR_KERNELS)))]
    src = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.3, 1.2))) if rng.uniform() < 0.3 else img
    h, w = src.shape[:2]
    lr = cv2.resize(src, (w // 4, h // 4), interpolation=LR_KERNELS[kernel])
    u = rng.uniform()
    if u < 0.45:
        crf = int(rng.integers(16, 31))
        return h264_roundtrip(lr, crf), f"{kernel}+h264-crf{crf}"
    if u < 0.8:
        q = int(rng.integers(50, 96))
        return A.ImageCompression(quality_range=(q, q), p=1.0)(image=lr)["image"], f"{kernel}+jpeg-q{q}"
    return lr, kernel


def add_upscales(work: Path) -> Path:
    """Stage 2 of the data: one up-scale from a degraded x1/4 input per real image (both sides, each from its
    own side), appended to work/data/index.json once (its "upscales" key records it)."""
    from translate.infer import Translator

    data = work / "data"
    index = json.loads((data / "index.json").read_text())
    if "upscales" in index:
        return data
    models = {}
    for name in UPSCALE_MODELS:
        ref = realesr_animevideov3(work) if name == "realesr-animevideov3" else name
        if ref is not None:
            models[name] = Translator(ref, device="cpu", precision="fp32", tasks=("sr",))
    reals = [r for r in index["records"] if r["family"] == "real"]
    log(f"up-scales of degraded inputs: {len(reals)} real images, models {', '.join(models)}")
    added, t0 = [], time.time()
    for i, rec in enumerate(reals):
        rng = np.random.default_rng([SEED, 7, i])
        name = list(models)[i % len(models)]
        img = np.asarray(Image.open(data / rec["path"]).convert("RGB"))
        height = img.shape[0]
        if name == "realesrgan-x4plus-anime":  # 6 RRDB blocks: keep its output near 256 px on 2 cores
            img = fit(img, 256)
        img = crop_to(img, 4)
        if min(img.shape[:2]) < 64:
            continue
        lr, how = degraded_lr(img, rng)
        with torch.no_grad():
            out = models[name](lr)
        out = grey(out) if is_grey(img) else out
        family = "realesrgan" if name in REALESRGAN_MODELS else "sr"
        stem = Path(rec["path"]).stem
        rel = Path(rec["side"]) / "fake" / family / f"{stem}-up-{name}.png"
        save(data / rel, out)
        scale = out.shape[0] / height
        added.append({"path": str(rel), "label": 1, "family": family, "model": name, "lr": how,
                      "source": rec["source"], "side": rec["side"],
                      "faces": [[v * scale for v in b] for b in rec.get("faces", [])]})
        if i % 50 == 0:
            log(f"up-scales: {i + 1}/{len(reals)} ({time.time() - t0:.0f} s)")
    index["records"] += added
    index["upscales"] = {"n": len(added), "models": list(models), "seconds": round(time.time() - t0, 1)}
    tmp = data / ".index.partial.json"
    tmp.write_text(json.dumps(index, indent=1))
    tmp.replace(data / "index.json")
    return data
