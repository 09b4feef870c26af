"""The chain `translate video` runs, built from its options (shared by `translate video` and `translate batch`).

``opts`` holds the command's option values by parameter name (input, output, model, direction, batch_size,
tile, ..., faces, landmarks, ...). ``video_stages`` gives the stages between read and write; ``video_chain``
adds read and write, so the two commands build the very same chain.
"""
from __future__ import annotations

from translate.errors import UserError


def translate_options(model, direction=None, device="auto", precision="auto", batch_size=4, tile=0, tile_pad=10) -> dict:
    return {"model": model, "direction": direction, "device": device, "precision": precision,
            "batch_size": batch_size, "tile": tile, "tile_pad": tile_pad}


def video_stages(opts: dict) -> list[tuple[str, dict]]:
    """The stages between read and write for `translate video`.

    Whole frames: translate. --faces: faces -> translate(target="faces") -> blend, the chain of
    pipelines/faceswap.yaml (the faces stage takes its crop size and centering from the model).
    """
    translate = translate_options(opts["model"], opts["direction"], opts["device"], opts["precision"],
                                  opts["batch_size"], opts["tile"], opts["tile_pad"])
    # --temporal: flow-guided consistency right after the model (on the face crops, before blend, with --faces)
    stabilize = [("stabilize", {"strength": opts.get("temporal_strength", 0.6)})] if opts.get("temporal") else []
    if not opts.get("faces"):
        _refuse_face_model_on_frames(opts["model"])
        return [("translate", translate), *stabilize]
    faces = {"landmarks": opts["landmarks"], "size": opts["face_size"], "centering": opts["centering"],
             "face_index": opts["face_index"], "alignments": opts["alignments"], "device": opts["device"],
             "detector": opts.get("detector", "auto"), "reference_face": opts.get("reference_face"),
             "reference_threshold": opts.get("reference_threshold", 0.6)}
    blend = {"mask": opts["mask"], "colour": opts["colour"], "seamless": opts["seamless"]}
    return [("faces", faces), ("translate", {**translate, "target": "faces"}), *stabilize, ("blend", blend)]


def _refuse_face_model_on_frames(model: str) -> None:
    from translate.weights.modelfile import read_info
    from translate.weights.resolve import resolve_model

    try:
        task = read_info(resolve_model(model)).task
    except Exception:  # noqa: BLE001 - the translate stage reports a bad model with its own message
        return
    if task == "faces":
        raise UserError(f"{model} is a face model: it runs on aligned face crops; add --faces")


def video_chain(opts: dict) -> list[tuple[str, dict]]:
    read = ("read", {"path": opts["input"], "batch_size": opts["batch_size"], "start": opts["start"], "end": opts["end"]})
    write = ("write", {"path": opts["output"], "codec": opts["codec"], "crf": opts["crf"], "preset": opts["preset"],
                       "audio": not opts["no_audio"], "overwrite": opts["overwrite"]})
    return [read, *video_stages(opts), write]
