from pathlib import Path

from setuptools import find_packages, setup

version = {}
exec(Path("translate/_version.py").read_text(), version)

setup(
    name="translate",
    version=version["__version__"],
    description="Image-to-image translation and deepfake video pipelines: CycleGAN, Pix2Pix, SRGAN, DiscoGAN, face swap, detector",
    long_description=Path("README.md").read_text() if Path("README.md").exists() else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["translate", "translate.*"]),
    # weights/ (manifest + small bundled models) and pipelines/ travel inside the wheel.
    package_data={"translate": ["weights/*.toml", "weights/*.safetensors", "pipelines/*.yaml"]},
    include_package_data=True,
    install_requires=[
        "torch>=2.1,<3",
        "torchvision>=0.16",
        "numpy>=1.24",
        "pillow>=10",
        "safetensors>=0.4",
        "click>=8.1",
        "tqdm>=4.60",
        "albumentations>=1.4",
        "opencv-python-headless>=4.8",
        "imageio-ffmpeg>=0.5",
        "pyyaml>=6",
        "matplotlib>=3.7",
        "scikit-image>=0.22",
        "scikit-learn>=1.3",
        "ffmpeg-python>=0.2",
        "onnxruntime>=1.16",
        "h5py>=3.8",
        "onnx>=1.14",  # checks fetched .onnx files (no custom-op domains, no external data)
    ],
    extras_require={
        "faces": ["dlib-bin>=19.24", "face-recognition-models>=0.3", "face-alignment>=1.4"],
        "tensorboard": ["tensorboard>=2.14"],
        "ray": ["ray>=2.9"],
        "ui": ["gradio>=4.40"],
        "dev": ["pytest>=7", "hypothesis>=6", "playwright>=1.40"],
    },
    entry_points={"console_scripts": ["translate=translate.cli.main:main"]},
)
