"""Layer 3, the experiments as plain data: the tasks and their degradations
(:mod:`imgloss.design.tasks`), the profiles, loss schedules and experiment grids
(:mod:`imgloss.design.experiments`), and the paper's own numbers (:mod:`imgloss.design.paper`).

It may import the layers below: :mod:`imgloss.core`, :mod:`imgloss.imaging`,
:mod:`imgloss.data`, :mod:`imgloss.losses` and :mod:`imgloss.metrics`.
"""
