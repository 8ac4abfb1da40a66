"""Layer 6, running experiments: the runner (:mod:`imgloss.experiments.runner`), local and
Slurm executors, the time budget and the campaign, the baselines and BM3D, the test crops and
the figures' committed inputs, results migration and Fig. 9's toy computation
(:mod:`imgloss.experiments.toy`).

It may import :mod:`imgloss.results` and the layers below it.
"""
