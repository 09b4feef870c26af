"""Training methods: one file each; METHODS maps the CLI name to the class."""
from translate.methods.cyclegan import CycleGAN
from translate.methods.pix2pix import Pix2Pix

METHODS = {m.name: m for m in (CycleGAN, Pix2Pix)}
from translate.methods.detector import DetectorMethod  # noqa: E402

METHODS[DetectorMethod.name] = DetectorMethod
from translate.methods.srgan import SRGAN  # noqa: E402

METHODS[SRGAN.name] = SRGAN
from translate.methods.discogan import DiscoGAN  # noqa: E402

METHODS[DiscoGAN.name] = DiscoGAN
from translate.methods.faceswap import FaceSwap  # noqa: E402

METHODS[FaceSwap.name] = FaceSwap
