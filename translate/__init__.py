"""translate: image-to-image translation and deepfake video pipelines."""
from translate._version import __version__

__all__ = ["__version__"]
