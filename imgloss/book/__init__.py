"""Layer 9, the book: executing the notebooks and building the HTML
(:mod:`imgloss.book.build`), printing it into one PDF (:mod:`imgloss.book.pdf`), and the main
job that makes the results and the book (:mod:`imgloss.book.reproduce`).

It may import :mod:`imgloss.teaching` and the layers below it.
"""
