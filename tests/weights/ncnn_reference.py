"""A tiny ncnn writer (an RRDBNet graph with synthetic fp16 weights) and an independent interpreter of ncnn
.param/.bin files (Convolution + fused leaky ReLU, Split, Concat, Eltwise, BinaryOp add, nearest Interp)."""
from __future__ import annotations

import struct

import numpy as np
import torch
import torch.nn.functional as F

FP16 = 0x01306B47


class _Graph:
    def __init__(self, rng):
        self.rng, self.lines, self.bin, self.n = rng, [], bytearray(), 0

    def blob(self) -> str:
        self.n += 1
        return f"b{self.n}"

    def add(self, kind: str, ins: list[str], n_out: int = 1, params: str = "") -> list[str]:
        outs = [self.blob() for _ in range(n_out)]
        self.lines.append(f"{kind} l{len(self.lines)} {len(ins)} {len(outs)} {' '.join(ins + outs)} {params}".strip())
        return outs

    def conv(self, x: str, cin: int, cout: int, leaky: bool) -> str:
        w = self.rng.normal(0, 1.0 / np.sqrt(cin * 9), (cout, cin, 3, 3)).astype(np.float16)
        b = self.rng.normal(0, 0.05, cout).astype(np.float32)
        self.bin += struct.pack("<I", FP16) + w.tobytes() + b"\0" * ((-w.nbytes) % 4) + b.tobytes()
        act = " 9=2 -23310=1,2.000000e-01" if leaky else ""
        return self.add("Convolution", [x], 1, f"0={cout} 1=3 4=1 5=1 6={w.size}{act}")[0]

    def split(self, x: str, n: int) -> list[str]:
        return self.add("Split", [x], n)


def write_rrdb_ncnn(rng, nf: int = 8, gc: int = 4, n_block: int = 1) -> tuple[str, bytes]:
    """(.param text, .bin bytes) of an RRDBNet x4 graph laid out as Real-ESRGAN's ncnn export."""
    g = _Graph(rng)
    (x,) = g.add("Input", [], 1, "0=3")
    first = g.conv(x, 3, nf, False)
    first, x = g.split(first, 2)
    for _ in range(n_block):
        x, block_in = g.split(x, 2)
        for _ in range(3):
            x, rdb_in = g.split(x, 2)
            feats = [x]
            for c in range(5):
                cin = nf + c * gc
                inp = feats[0] if len(feats) == 1 else g.add("Concat", feats, 1)[0]
                out = g.conv(inp, cin, gc if c < 4 else nf, leaky=c < 4)
                if c < 4:  # each output is read again by every later concatenation
                    feats = feats + [out]
            x = g.add("Eltwise", [out, rdb_in], 1, "0=1 -23301=2,2.000000e-01,1.000000e+00")[0]
        x = g.add("Eltwise", [x, block_in], 1, "0=1 -23301=2,2.000000e-01,1.000000e+00")[0]
    body = g.conv(x, nf, nf, False)
    x = g.add("BinaryOp", [first, body], 1, "0=0")[0]
    for _ in range(2):
        x = g.add("Interp", [x], 1, "0=1 1=2.000000e+00 2=2.000000e+00")[0]
        x = g.conv(x, nf, nf, True)
    x = g.conv(x, nf, nf, True)
    g.conv(x, nf, 3, False)
    text = "7767517\n" + f"{len(g.lines)} {g.n}\n" + "\n".join(g.lines) + "\n"
    return text, bytes(g.bin)


def run_ncnn(param_text: str, bin_data: bytes, x: torch.Tensor) -> torch.Tensor:
    """Execute the .param graph on x (N, C, H, W), reading weights from the .bin as ncnn's ModelBin does."""
    rows = [ln.split() for ln in param_text.splitlines()[2:] if ln.strip()]
    blobs: dict[str, torch.Tensor] = {}
    offset, out = 0, None
    for row in rows:
        kind, n_in, n_out = row[0], int(row[2]), int(row[3])
        ins, outs = row[4:4 + n_in], row[4 + n_in:4 + n_in + n_out]
        p = dict(kv.split("=", 1) for kv in row[4 + n_in + n_out:])
        args = [blobs[i] for i in ins]
        if kind == "Input":
            y = x
        elif kind == "Convolution":
            cout, size = int(p["0"]), int(p["6"])
            assert struct.unpack_from("<I", bin_data, offset)[0] == FP16
            w = np.frombuffer(bin_data, np.float16, size, offset + 4).astype(np.float32)
            offset += 4 + (size * 2 + 3) // 4 * 4
            b = np.frombuffer(bin_data, np.float32, cout, offset)
            offset += cout * 4
            w = torch.from_numpy(w.reshape(cout, -1, 3, 3).copy())
            y = F.conv2d(args[0], w, torch.from_numpy(b.copy()), padding=int(p["4"]))
            if p.get("9") == "2":
                y = F.leaky_relu(y, float(p["-23310"].split(",")[1]))
        elif kind == "Split":
            y = args[0]
        elif kind == "Concat":
            y = torch.cat(args, 1)
        elif kind == "Eltwise":
            coeffs = [float(v) for v in p["-23301"].split(",")[1:]]
            y = sum(c * a for c, a in zip(coeffs, args))
        elif kind == "BinaryOp":
            y = args[0] + args[1]
        elif kind == "Interp":
            y = F.interpolate(args[0], scale_factor=float(p["1"]), mode="nearest")
        else:
            raise AssertionError(kind)
        for o in outs:
            blobs[o] = y
        out = y
    assert offset == len(bin_data)
    return out
