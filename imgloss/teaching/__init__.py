"""Layer 8, the interactive and explanatory pieces of the book: loss and gradient maps
(:mod:`imgloss.teaching.maps`), the sigma and alpha sweeps (:mod:`imgloss.teaching.sweeps`) and
the noise-level sweep (:mod:`imgloss.teaching.noise_sweep`),
precomputed widgets (:mod:`imgloss.teaching.widgets`), the demos, and the SSIM conventions and
pitfalls (:mod:`imgloss.teaching.which_ssim`, :mod:`imgloss.teaching.ssim_pitfalls`).

It may import :mod:`imgloss.report` and the layers below it.
"""
