"""imgloss: a reproduction of Zhao, Gallo, Frosio & Kautz, "Loss Functions for Neural Networks
for Image Processing" (IEEE TCI 2017): the paper's losses as PyTorch modules, and the
experiments that compare them."""

from . import losses

__version__ = "0.1.0"

__all__ = ["__version__", "losses"]
