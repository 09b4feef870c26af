"""Default outputs beside the input, named after the model (translate.output_names)."""
from pathlib import Path

from translate.output_names import default_frames_folder, default_image_output, default_video_output, model_label
from translate.weights import manifest


def test_model_label_is_the_manifest_name_or_the_run_folder(tmp_path):
    run = tmp_path / "runs" / "cyclegan-horses-zebras"
    run.mkdir(parents=True)
    (run / "model.safetensors").write_bytes(b"x")
    (tmp_path / "tiny.safetensors").write_bytes(b"x")
    assert model_label(str(run)) == "cyclegan-horses-zebras"
    assert model_label(str(run) + "/") == "cyclegan-horses-zebras"
    assert model_label(str(run / "model.safetensors")) == "cyclegan-horses-zebras"  # a run's model file
    assert model_label(str(tmp_path / "tiny.safetensors")) == "tiny"  # any other file: its stem
    entry = manifest.entries()[0]
    assert model_label(entry.name.upper()) == entry.name  # names are case-insensitive; the label is canonical
    for alias in entry.aliases:
        assert model_label(alias) == entry.name


def test_default_names_sit_beside_the_input(tmp_path):
    (tmp_path / "photos").mkdir()
    assert default_video_output(Path("clips/in.mp4"), "srgan") == Path("clips/in.srgan.mp4")
    assert default_video_output("in.mov", "srgan") == Path("in.srgan.mov")
    assert default_video_output("in.webm", "srgan") == Path("in.srgan.mp4")  # a container the writer makes
    assert default_video_output("in.mp4", "srgan", codec="ffv1") == Path("in.srgan.mkv")  # ffv1 needs .mkv
    assert default_image_output("shots/photo.jpg", "srgan", ".png") == Path("shots/photo.srgan.png")
    assert default_image_output(tmp_path / "photos", "srgan", ".png") == tmp_path / "photos.srgan"
    assert default_frames_folder("clips/in.mp4") == Path("clips/in.frames")
