"""Layer 1, the image operations of the paper's tasks: the degradations (Bayer mosaic,
Poisson-Gaussian noise, JPEG, downscaling; :mod:`imgloss.imaging.degradations`), DLMMSE
demosaicking (:mod:`imgloss.imaging.demosaic`), the generalized Anscombe transform
(:mod:`imgloss.imaging.vst`) and the conversions between tensors and 8-bit images
(:mod:`imgloss.imaging.convert`).

It may import :mod:`imgloss.core` only.
"""
