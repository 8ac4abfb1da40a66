"""imgloss: a reproduction of Zhao, Gallo, Frosio & Kautz, "Loss Functions for Neural Networks
for Image Processing" (IEEE TCI 2017): the paper's losses as PyTorch modules, and the
experiments that compare them.

``import imgloss`` is light: the subpackages (``imgloss.losses``, ``imgloss.metrics``, ...) and
torch are imported when first used, so ``imgloss --help`` answers at once.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

__all__ = ["__version__", "losses"]


def __getattr__(name: str):
    """Import a subpackage on first use (``imgloss.losses.get(...)`` after ``import imgloss``)."""
    try:
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as err:
        if err.name == f"{__name__}.{name}":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        raise
