"""Layer 7, the report: the paper's claims decided by statistics
(:mod:`imgloss.report.claims`), the Markdown tables (:mod:`imgloss.report.tables`) and their
numbering (:mod:`imgloss.report.numbered`), the prose of Table 1's pages
(``imgloss.report.task_pages``), the figures (:mod:`imgloss.report.figures`) and their style
(:mod:`imgloss.report.style`).

It may import :mod:`imgloss.experiments` and the layers below it.
"""
