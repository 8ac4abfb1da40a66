"""Layer 5, the results files and what is computed from them: the typed records and the
results folders (:mod:`imgloss.results.records`), per-image scores
(:mod:`imgloss.results.scores`), the statistics that decide claims
(:mod:`imgloss.results.inference`), the time estimates (:mod:`imgloss.results.estimate`) and the
workspace a command works in: results folder, data source, device, progress
(:mod:`imgloss.results.workspace`).

It may import :mod:`imgloss.training` and the layers below it.
"""
