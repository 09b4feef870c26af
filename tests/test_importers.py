"""Importing foreign checkpoints: the reference tool's generators and BasicSR files give the same outputs after
import, flags are checked against the file, and pickles that would run code are refused."""
from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from translate.errors import UserError
from translate.nets import build_generator
from translate.weights.importers import import_checkpoint, plan_import, read_checkpoint
from translate.weights.modelfile import apply_inference_mode, load_model, read_info

# --- a faithful minimal copy of pytorch-CycleGAN-and-pix2pix's generators (models/networks.py), kept
# independent from translate.nets on purpose ---


def ref_norm_layer(norm_type):
    if norm_type == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm_type == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    raise NotImplementedError(norm_type)


def ref_use_bias(norm_layer):
    if type(norm_layer) == functools.partial:  # noqa: E721 (as the reference)
        return norm_layer.func == nn.InstanceNorm2d
    return norm_layer == nn.InstanceNorm2d


class RefResnetBlock(nn.Module):
    def __init__(self, dim, padding_type, norm_layer, use_dropout, use_bias):
        super().__init__()
        assert padding_type == "reflect"
        conv_block = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=use_bias),
                      norm_layer(dim), nn.ReLU(True)]
        if use_dropout:
            conv_block += [nn.Dropout(0.5)]
        conv_block += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=use_bias), norm_layer(dim)]
        self.conv_block = nn.Sequential(*conv_block)

    def forward(self, x):
        return x + self.conv_block(x)


class RefResnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False, n_blocks=6,
                 padding_type="reflect"):
        super().__init__()
        use_bias = ref_use_bias(norm_layer)
        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=use_bias),
                 norm_layer(ngf), nn.ReLU(True)]
        n_downsampling = 2
        for i in range(n_downsampling):
            mult = 2**i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=use_bias),
                      norm_layer(ngf * mult * 2), nn.ReLU(True)]
        mult = 2**n_downsampling
        for i in range(n_blocks):
            model += [RefResnetBlock(ngf * mult, padding_type, norm_layer, use_dropout, use_bias)]
        for i in range(n_downsampling):
            mult = 2 ** (n_downsampling - i)
            model += [nn.ConvTranspose2d(ngf * mult, int(ngf * mult / 2), kernel_size=3, stride=2, padding=1,
                                         output_padding=1, bias=use_bias),
                      norm_layer(int(ngf * mult / 2)), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3)]
        model += [nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0)]
        model += [nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, input):
        return self.model(input)


class RefUnetSkipConnectionBlock(nn.Module):
    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False, innermost=False,
                 norm_layer=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        self.outermost = outermost
        use_bias = ref_use_bias(norm_layer)
        if input_nc is None:
            input_nc = outer_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        downrelu = nn.LeakyReLU(0.2, True)
        downnorm = norm_layer(inner_nc)
        uprelu = nn.ReLU(True)
        upnorm = norm_layer(outer_nc)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            down = [downconv]
            up = [uprelu, upconv, nn.Tanh()]
            model = down + [submodule] + up
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            down = [downrelu, downconv]
            up = [uprelu, upconv, upnorm]
            model = down + up
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            down = [downrelu, downconv, downnorm]
            up = [uprelu, upconv, upnorm]
            if use_dropout:
                model = down + [submodule] + up + [nn.Dropout(0.5)]
            else:
                model = down + [submodule] + up
        self.model = nn.Sequential(*model)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class RefUnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, num_downs, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        unet_block = RefUnetSkipConnectionBlock(ngf * 8, ngf * 8, input_nc=None, submodule=None, norm_layer=norm_layer,
                                                innermost=True)
        for i in range(num_downs - 5):
            unet_block = RefUnetSkipConnectionBlock(ngf * 8, ngf * 8, input_nc=None, submodule=unet_block,
                                                    norm_layer=norm_layer, use_dropout=use_dropout)
        unet_block = RefUnetSkipConnectionBlock(ngf * 4, ngf * 8, input_nc=None, submodule=unet_block, norm_layer=norm_layer)
        unet_block = RefUnetSkipConnectionBlock(ngf * 2, ngf * 4, input_nc=None, submodule=unet_block, norm_layer=norm_layer)
        unet_block = RefUnetSkipConnectionBlock(ngf, ngf * 2, input_nc=None, submodule=unet_block, norm_layer=norm_layer)
        self.model = RefUnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=unet_block, outermost=True,
                                                norm_layer=norm_layer)

    def forward(self, input):
        return self.model(input)


# --- helpers ---


def randomise_bn_stats(net: nn.Module, seed: int = 0) -> None:
    """Trained-looking running statistics, so eval mode really uses them."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(1 + 0.1 * torch.randn(m.num_features, generator=g))
            m.bias.data.copy_(0.1 * torch.randn(m.num_features, generator=g))


def save_reference_way(net: nn.Module, path) -> None:
    torch.save(net.cpu().state_dict(), path)  # as the reference's BaseModel.save_networks


def imported_net(dest) -> tuple[nn.Module, object]:
    loaded = load_model(dest)
    net = loaded.nets[loaded.info.directions[next(iter(loaded.info.directions))][0]]
    return apply_inference_mode(net, loaded.info.inference_mode), loaded.info


def same_outputs(ref: nn.Module, ours: nn.Module, x: torch.Tensor, seed: int = 0) -> float:
    with torch.no_grad():
        torch.manual_seed(seed)
        a = ref(x)
        torch.manual_seed(seed)
        b = ours(x)
    assert a.shape == b.shape
    return (a - b).abs().max().item()


# --- reference generators ---


@pytest.mark.parametrize("norm,use_dropout,n_blocks,flags", [
    ("instance", False, 3, {}),
    ("batch", True, 6, {}),
    ("batch", False, 2, {"ngf": 8, "norm": "batch", "n_blocks": 2, "use_dropout": False}),
])
def test_resnet_generator_imports_with_same_outputs(tmp_path, norm, use_dropout, n_blocks, flags):
    torch.manual_seed(1)
    ref = RefResnetGenerator(3, 3, ngf=8, norm_layer=ref_norm_layer(norm), use_dropout=use_dropout, n_blocks=n_blocks)
    randomise_bn_stats(ref)
    save_reference_way(ref, tmp_path / "latest_net_G_A.pth")
    dest = import_checkpoint(tmp_path / "latest_net_G_A.pth", tmp_path / "g.safetensors", **flags)
    ours, info = imported_net(dest)
    spec = info.nets["G"]
    assert spec["arch"] == {6: "resnet_6blocks"}.get(n_blocks, "resnet")
    assert spec["kwargs"]["ngf"] == 8 and spec["kwargs"]["norm"] == norm
    assert spec["kwargs"]["use_dropout"] is use_dropout
    assert (info.task, info.value_range, info.directions, info.inference_mode) == ("translate", [-1.0, 1.0], {"AtoB": ["G"]}, "eval")
    assert info.multiple == 4
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert same_outputs(ref.eval(), ours, x) < 1e-5


def test_old_instance_norm_keys_and_dataparallel_prefix_are_handled(tmp_path):
    torch.manual_seed(2)
    ref = RefResnetGenerator(3, 3, ngf=8, norm_layer=ref_norm_layer("instance"), n_blocks=2)
    sd = ref.state_dict()
    old = {}
    for name, m in ref.named_modules():  # what PyTorch < 0.4 stored for InstanceNorm layers
        if isinstance(m, nn.InstanceNorm2d):
            old[f"{name}.running_mean"] = torch.zeros(m.num_features)
            old[f"{name}.running_var"] = torch.ones(m.num_features)
    torch.save({f"module.{k}": v for k, v in {**sd, **old}.items()}, tmp_path / "200_net_G_B.pth")
    plan = plan_import(tmp_path / "200_net_G_B.pth")
    assert any("dropped" in n for n in plan.notes)
    dest = import_checkpoint(tmp_path / "200_net_G_B.pth", tmp_path / "g.safetensors")
    ours, info = imported_net(dest)
    assert info.directions == {"BtoA": ["G"]}  # a G_B file maps B to A
    assert same_outputs(ref.eval(), ours, torch.rand(1, 3, 16, 16)) < 1e-5


def test_unet_generator_eval_and_reference_test_modes(tmp_path):
    torch.manual_seed(3)
    ref = RefUnetGenerator(3, 3, 6, ngf=4, norm_layer=ref_norm_layer("batch"), use_dropout=True)
    randomise_bn_stats(ref)
    save_reference_way(ref, tmp_path / "latest_net_G.pth")
    x = torch.rand(2, 3, 64, 64) * 2 - 1

    dest = import_checkpoint(tmp_path / "latest_net_G.pth", tmp_path / "eval.safetensors")
    ours, info = imported_net(dest)
    assert info.nets["G"]["arch"] == "unet_64"
    assert info.nets["G"]["kwargs"]["use_dropout"] is True and info.multiple == 64
    assert same_outputs(ref.eval(), ours, x) < 1e-5

    # the reference's test.py without --eval: BN on batch statistics, dropout on (same RNG -> same masks)
    dest = import_checkpoint(tmp_path / "latest_net_G.pth", tmp_path / "test.safetensors", mode="reference-test")
    ours_t, info_t = imported_net(dest)
    assert info_t.inference_mode == "reference-test"
    ref_t = RefUnetGenerator(3, 3, 6, ngf=4, norm_layer=ref_norm_layer("batch"), use_dropout=True)
    ref_t.load_state_dict(torch.load(tmp_path / "latest_net_G.pth", weights_only=True))
    ref_t.train()
    assert same_outputs(ref_t, ours_t, x, seed=7) < 1e-5
    with torch.no_grad():
        assert (ours_t(x) - ours(x)).abs().max() > 1e-3  # the two modes really differ


def test_unet_instance_norm_flags_and_fixed_arch(tmp_path):
    torch.manual_seed(4)
    ref = RefUnetGenerator(3, 3, 5, ngf=4, norm_layer=ref_norm_layer("instance"), use_dropout=False)
    save_reference_way(ref, tmp_path / "g.pth")
    dest = import_checkpoint(tmp_path / "g.pth", tmp_path / "g.safetensors", arch="unet_32", norm="instance", ngf=4,
                             use_dropout=False, direction="BtoA", name="facades-btoa")
    ours, info = imported_net(dest)
    assert info.nets["G"]["arch"] == "unet_32" and info.nets["G"]["kwargs"]["use_dropout"] is False
    assert info.directions == {"BtoA": ["G"]} and info.name == "facades-btoa"
    assert same_outputs(ref.eval(), ours, torch.rand(1, 3, 32, 32)) < 1e-5


@pytest.mark.parametrize("arch,flags,message", [
    (None, {"norm": "instance"}, "--norm instance contradicts"),
    (None, {"ngf": 16}, "--ngf 16 contradicts"),
    (None, {"use_dropout": True}, "--dropout/--no-dropout on contradicts"),
    ("resnet_9blocks", {}, "3 residual blocks"),
    ("unet_256", {}, "holds a resnet network"),
    (None, {"scale": 4}, "--scale do(es) not apply"),
])
def test_flags_that_contradict_the_file_are_refused(tmp_path, arch, flags, message):
    ref = RefResnetGenerator(3, 3, ngf=8, norm_layer=ref_norm_layer("batch"), n_blocks=3)
    save_reference_way(ref, tmp_path / "g.pth")
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_checkpoint(tmp_path / "g.pth", tmp_path / "g.safetensors", arch=arch, **flags)
    assert not (tmp_path / "g.safetensors").exists()


def test_unet_depth_contradiction(tmp_path):
    save_reference_way(RefUnetGenerator(3, 3, 5, ngf=2), tmp_path / "g.pth")
    with pytest.raises(UserError, match="has 5 levels; use --arch unet_32"):
        plan_import(tmp_path / "g.pth", arch="unet_128")


# --- safety ---


class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):  # unpickling this would create the marker file
        return (open, (self.marker, "w"))


def test_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"model.1.weight": torch.zeros(1), "evil": _Payload(marker)}, tmp_path / "latest_net_G_A.pth")
    assert not marker.exists()
    with pytest.raises(UserError, match="refused to load"):
        import_checkpoint(tmp_path / "latest_net_G_A.pth", tmp_path / "g.safetensors")
    assert not marker.exists()
    assert not (tmp_path / "g.safetensors").exists()


def test_unreadable_and_foreign_files_give_one_clear_line(tmp_path):
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="cannot read"):
        read_checkpoint(tmp_path / "junk.pth")
    torch.save({"model.0.weight": torch.zeros(8, 3, 4, 4), "model.0.bias": torch.zeros(8)}, tmp_path / "latest_net_D_A.pth")
    with pytest.raises(UserError, match="discriminator"):
        plan_import(tmp_path / "latest_net_D_A.pth")
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
    with pytest.raises(UserError, match="not a network this can import"):
        plan_import(tmp_path / "other.pth")


def test_output_rules(tmp_path):
    save_reference_way(RefResnetGenerator(3, 3, ngf=4, n_blocks=1), tmp_path / "g.pth")
    with pytest.raises(UserError, match=r"must end in \.safetensors"):
        import_checkpoint(tmp_path / "g.pth", tmp_path / "g.pt")
    (tmp_path / "g.safetensors").write_bytes(b"keep me")
    with pytest.raises(UserError, match="--overwrite"):
        import_checkpoint(tmp_path / "g.pth", tmp_path / "g.safetensors")
    assert (tmp_path / "g.safetensors").read_bytes() == b"keep me"
    import_checkpoint(tmp_path / "g.pth", tmp_path / "g.safetensors", overwrite=True)
    assert read_info(tmp_path / "g.safetensors").extra["imported_from"] == "pytorch-CycleGAN-and-pix2pix"
    with pytest.raises(UserError, match="already a translate model file"):
        import_checkpoint(tmp_path / "g.safetensors", tmp_path / "h.safetensors")


# --- BasicSR / Real-ESRGAN ---


@pytest.mark.parametrize("arch,kwargs,expected_scale,multiple", [
    ("msrresnet", {"num_feat": 8, "num_block": 2, "upscale": 4}, 4, 1),
    ("msrresnet", {"num_feat": 8, "num_block": 1, "upscale": 3}, 3, 1),
    ("rrdbnet", {"num_feat": 8, "num_block": 1, "num_grow_ch": 4, "scale": 4}, 4, 1),
    ("rrdbnet", {"num_feat": 8, "num_block": 2, "num_grow_ch": 4, "scale": 2}, 2, 2),
    ("rrdbnet", {"num_feat": 8, "num_block": 1, "num_grow_ch": 4, "scale": 1}, 1, 4),
    ("srvgg", {"num_feat": 8, "num_conv": 3, "upscale": 4}, 4, 1),
    ("srvgg", {"num_feat": 8, "num_conv": 2, "upscale": 2}, 2, 1),
])
def test_basicsr_files_round_trip(tmp_path, arch, kwargs, expected_scale, multiple):
    torch.manual_seed(5)
    net = build_generator(arch, **kwargs).eval()
    decoy = build_generator(arch, **kwargs)  # params_ema wins over params
    torch.save({"params": decoy.state_dict(), "params_ema": net.state_dict()}, tmp_path / "net_g_latest.pth")
    dest = import_checkpoint(tmp_path / "net_g_latest.pth", tmp_path / "sr.safetensors")
    ours, info = imported_net(dest)
    assert info.nets["G"] == {"arch": arch, "kwargs": dict(net._translate_spec[1])}
    assert (info.task, info.value_range, info.scale, info.multiple) == ("sr", [0.0, 1.0], expected_scale, multiple)
    assert info.extra["imported_from"] == "BasicSR"
    for k, v in net.state_dict().items():
        assert torch.equal(ours.state_dict()[k], v), k
    x = torch.rand(1, 3, 8, 8)
    assert same_outputs(net, ours, x) < 1e-5
    assert ours(x).shape[-1] == 8 * expected_scale


def test_basicsr_params_only_and_srvgg_without_activation_weights(tmp_path):
    net = build_generator("srvgg", num_feat=4, num_conv=1, upscale=2, act_type="leakyrelu")
    torch.save({"params": net.state_dict()}, tmp_path / "realesr.pth")
    with pytest.raises(UserError, match="--act relu or --act leakyrelu"):
        plan_import(tmp_path / "realesr.pth")
    dest = import_checkpoint(tmp_path / "realesr.pth", tmp_path / "sr.safetensors", act_type="leakyrelu")
    ours, info = imported_net(dest)
    assert info.nets["G"]["kwargs"]["act_type"] == "leakyrelu"
    assert same_outputs(net.eval(), ours, torch.rand(1, 3, 6, 6)) < 1e-5
    with pytest.raises(UserError, match="--scale 4 contradicts"):
        plan_import(tmp_path / "realesr.pth", act_type="leakyrelu", scale=4)
