"""Layer 4, training one network: the paper's network (:mod:`imgloss.training.models`)
and its Fourier path (:mod:`imgloss.training.fourier_conv`), patch sampling
(:mod:`imgloss.training.sampling`), the trainer (:mod:`imgloss.training.trainer`), the arithmetic
(:mod:`imgloss.training.precision`) and the shipped weights (:mod:`imgloss.training.weights`).

It may import :mod:`imgloss.design` and the layers below it.
"""
