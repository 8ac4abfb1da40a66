"""The module form every loss shares: options validated once, in the constructor."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from torch import nn

from ..functional.options import LossOptions


class FunctionalLoss(nn.Module):
    """Module form of a functional loss: ``forward(prediction, target)`` is
    ``compute(prediction, target, self.options)``.

    A subclass names its ``Options`` dataclass and its ``compute``; the constructor's keywords
    build (and so validate) ``self.options``, and a misspelt one is a ``TypeError`` naming it.
    """

    Options: ClassVar[type[LossOptions]]

    @staticmethod
    def compute(prediction: torch.Tensor, target: torch.Tensor, o: Any) -> torch.Tensor:
        """The loss of ``(N, C, H, W)`` tensors under validated options ``o``."""
        raise NotImplementedError

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.options = self.Options(**options)

    @classmethod
    def option_names(cls) -> list[str]:
        """The keywords the constructor takes."""
        return [f.name for f in dataclasses.fields(cls.Options)]

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return type(self).compute(prediction, target, self.options)

    def extra_repr(self) -> str:
        return self.options.describe()
