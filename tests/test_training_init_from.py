"""--init-from starts a new run (fresh optimizers and schedule) from another model's weights."""
import torch
from synthetic import images, write_images

from translate.distributed import DistEnv
from translate.methods.base import DataConfig
from translate.methods.cyclegan import CycleGANConfig
from translate.training import LoopConfig, RunSpec, Trainer
from translate.weights.modelfile import load_model


def spec(tmp_path, name, init_from=None, ngf=4):
    return RunSpec("cyclegan", LoopConfig(name=name, out=str(tmp_path), steps=2, workers=0, init_from=init_from),
                   DataConfig(a=str(tmp_path / "a"), b=str(tmp_path / "b"), size=16, load_size=16, preprocess="resize"),
                   CycleGANConfig(netG="resnet_6blocks", ngf=ngf, ndf=4, netD="pixel"))


def test_init_from_copies_generators_and_refuses_other_architectures(tmp_path):
    write_images(tmp_path / "a", images(4, 16, 1))
    write_images(tmp_path / "b", images(4, 16, 2))
    first = Trainer(spec(tmp_path, "first"), False, DistEnv())
    first.run()
    source = load_model(tmp_path / "first" / "model.safetensors")
    second = Trainer(spec(tmp_path, "second", init_from=str(tmp_path / "first")), False, DistEnv())
    for k in ("G_A", "G_B"):
        for key, value in source.nets[k].state_dict().items():
            assert torch.equal(second.method.nets[k].state_dict()[key], value)
    assert second.step == 0
    import pytest

    from translate.errors import UserError

    with pytest.raises(UserError, match="another architecture"):
        Trainer(spec(tmp_path, "third", init_from=str(tmp_path / "first"), ngf=8), False, DistEnv())
