"""Read the tensors of a TorchScript archive without running it: a restricted unpickler.

A TorchScript file is a zip holding ``<root>/data.pkl`` (the module tree, pickled), ``<root>/data/<key>``
(raw tensor storages) and ``<root>/code/`` (the TorchScript source). Only ``data.pkl`` and the storages are
read here. The unpickler builds tensors and plain containers; each TorchScript module object
(``__torch__.*`` classes) becomes an inert :class:`ScriptRecord` holding its class name and attributes, and
no code of the archive is compiled or run. Every other global is refused.
"""
from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch

# storage class name -> dtype (the storages a pickled tensor may name)
_STORAGES = {"FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
             "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
             "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
             "BoolStorage": torch.bool}


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a global outside the allowed set."""


@dataclass
class ScriptRecord:
    """A TorchScript module object, as data: its class name and its attributes (tensors, numbers, records)."""

    cls: str
    attrs: dict = field(default_factory=dict)

    def __setstate__(self, state) -> None:  # BUILD: the pickled attribute dict
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"{self.cls}: unexpected state {type(state).__name__}")
        self.attrs = dict(state)


def _record_class(name: str) -> type:
    """A ScriptRecord subclass per TorchScript class name, so NEWOBJ can instantiate it with no arguments."""
    return type("ScriptRecord", (ScriptRecord,), {"__init__": lambda self: ScriptRecord.__init__(self, name)})


@dataclass(frozen=True)
class _StorageType:
    dtype: torch.dtype


def _rebuild_tensor(storage: torch.Tensor, offset: int, size, stride, requires_grad=False, hooks=None,
                    *extra) -> torch.Tensor:
    return storage.as_strided(tuple(size), tuple(stride), offset).clone()


def _build_list(*items):
    return list(items)


# (module, name) -> what the unpickler may build for it; nothing else resolves
_ALLOWED = {("collections", "OrderedDict"): OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
            ("torch.jit._pickle", "build_intlist"): list,
            ("torch.jit._pickle", "build_doublelist"): list,
            ("torch.jit._pickle", "build_boollist"): list,
            ("torch.jit._pickle", "build_tensorlist"): list,
            ("builtins", "set"): set}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, storages):
        super().__init__(io.BytesIO(data))
        self._storages = storages

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGES:
            return _StorageType(_STORAGES[name])
        if module == "__torch__" or module.startswith("__torch__."):
            return _record_class(f"{module}.{name}")
        raise RefusedGlobal(f"refused global {module}.{name}: only tensors and plain containers are read")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise RefusedGlobal(f"storage of unknown type {storage_type!r}")
        return self._storages(str(key), storage_type.dtype, int(numel))


def read_archive(archive: bytes | str, pickle_name: str = "data.pkl"):
    """The unpickled object tree of a TorchScript zip (given as bytes or a path), tensors included."""
    zf = zipfile.ZipFile(io.BytesIO(archive) if isinstance(archive, bytes) else archive)
    names = zf.namelist()
    matches = [n for n in names if n == pickle_name or n.endswith("/" + pickle_name)]
    if len(matches) != 1:
        raise ValueError(f"not a TorchScript archive: no single {pickle_name} in it")
    root = matches[0][: -len(pickle_name)]

    def storage(key: str, dtype: torch.dtype, numel: int) -> torch.Tensor:
        raw = zf.read(f"{root}data/{key}")
        itemsize = torch.empty((), dtype=dtype).element_size()
        if len(raw) < numel * itemsize:
            raise pickle.UnpicklingError(f"storage {key} is truncated")
        flat = np.frombuffer(raw, dtype=np.uint8, count=numel * itemsize).copy()
        return torch.from_numpy(flat).view(dtype)

    return _RestrictedUnpickler(zf.read(matches[0]), storage).load()


def flatten_records(obj, prefix: str = "") -> tuple[dict[str, torch.Tensor], dict[str, object]]:
    """(tensors, other attributes) of a ScriptRecord tree, keyed by dotted attribute paths."""
    tensors: dict[str, torch.Tensor] = {}
    attrs: dict[str, object] = {}
    for name, value in (obj.attrs.items() if isinstance(obj, ScriptRecord) else ()):
        key = f"{prefix}{name}"
        if isinstance(value, ScriptRecord):
            sub_t, sub_a = flatten_records(value, key + ".")
            tensors.update(sub_t)
            attrs.update(sub_a)
        elif isinstance(value, torch.Tensor):
            tensors[key] = value
        elif name not in ("training", "_is_full_backward_hook"):
            attrs[key] = value
    return tensors, attrs
