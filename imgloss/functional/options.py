"""The options of the losses and measures, each set defined once as a frozen dataclass.

A function takes them as keywords (``ssim(x, y, sigma=5)`` builds :class:`SSIMOptions`), a
module builds them in its constructor (``SSIMLoss(sigma=5)``): either way every option is
validated in ``__post_init__``, by the one checker of :mod:`imgloss.functional.validation` for
it, so a bad option fails where it is given with a message that names it. A misspelt option is a
``TypeError`` naming it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .validation import (
    check_bool,
    check_data_range,
    check_k,
    check_pair,
    check_reduction,
    check_sigma,
    check_sigmas,
    check_variant,
    check_weights,
    check_win_size,
    check_window,
)

#: The paper's five Gaussians of its fast MS-SSIM (Section 3.3).
PAPER_SIGMAS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
#: The exponents of Wang et al. 2003's five-scale pyramid MS-SSIM.
WANG_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def set_field(options: Any, name: str, value: Any) -> None:
    object.__setattr__(options, name, value)  # a frozen dataclass normalising its own field


@dataclass(frozen=True, kw_only=True)
class LossOptions:
    """What every loss and measure takes.

    ``data_range`` is ``L``, the dynamic range (1 for [0, 1] images); ``window`` is
    ``"sliding"`` (every valid pixel) or ``"patch"`` (the centre of odd patches, eq. 7; the
    per-pixel losses accept it and are the same either way); ``reduction`` is ``"mean"``,
    ``"sum"`` or ``"none"``; ``check_finite`` raises on NaN/Inf input and warns on values far
    outside ``[0, L]`` (one device sync; off in the trainer's fast path).
    """

    data_range: float = 1.0
    window: str = "sliding"
    reduction: str = "mean"
    check_finite: bool = True

    def __post_init__(self) -> None:
        set_field(self, "data_range", check_data_range(self.data_range))
        set_field(self, "window", check_window(self.window))
        set_field(self, "reduction", check_reduction(self.reduction))
        set_field(self, "check_finite", check_bool("check_finite", self.check_finite))

    def check_inputs(self, prediction: Any, target: Any) -> None:
        """:func:`~imgloss.functional.validation.check_pair` under these options (finite values
        and the range check of ``check_finite``, against ``data_range``)."""
        check_pair(prediction, target, check_finite=self.check_finite, data_range=self.data_range)

    def describe(self) -> str:
        """``name=value, ...`` for every option (a module's ``repr``)."""
        return ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self))


@dataclass(frozen=True, kw_only=True)
class SSIMConstants(LossOptions):
    """``k1`` and ``k2`` of ``C1 = (k1 L)^2`` and ``C2 = (k2 L)^2`` (eq. 4), finite and
    positive."""

    k1: float = 0.01
    k2: float = 0.03

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "k1", check_k("k1", self.k1))
        set_field(self, "k2", check_k("k2", self.k2))


@dataclass(frozen=True, kw_only=True)
class SSIMOptions(SSIMConstants):
    """SSIM (eqs. 4-7): the Gaussian window's ``sigma`` (``sigma_G``) and, in sliding mode,
    ``win_size`` (``None``: truncated at 3.5 sigma, 11 taps for sigma 1.5)."""

    sigma: float = 1.5
    win_size: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "sigma", check_sigma(self.sigma))
        set_field(self, "win_size", check_win_size(self.win_size))


@dataclass(frozen=True, kw_only=True)
class MSSSIMOptions(SSIMOptions):
    """MS-SSIM (eqs. 11-12): ``variant="gaussian"`` (the paper's ``sigmas``, luminance from the
    largest) or ``"pyramid"`` (Wang et al. 2003: ``weights``, one exponent per scale, and the
    per-scale window ``sigma``/``win_size``; sliding only). Every option is checked whatever the
    variant, so that a typo never goes unnoticed."""

    variant: str = "gaussian"
    sigmas: tuple[float, ...] = PAPER_SIGMAS
    weights: tuple[float, ...] = WANG_WEIGHTS

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "variant", check_variant(self.variant))
        set_field(self, "sigmas", check_sigmas(self.sigmas))
        set_field(self, "weights", check_weights(self.weights))
        if self.variant == "pyramid" and self.window == "patch":
            raise ValueError(
                "variant='pyramid' is defined on whole images (window='sliding'); the "
                "paper's patch-mode MS-SSIM is variant='gaussian'"
            )
