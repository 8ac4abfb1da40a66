"""Layer 0, what every layer uses: provenance records (commit, versions, device, date),
atomic writes and JSON files (:mod:`imgloss.core.provenance`); the user errors, which the command
line prints as one line (:mod:`imgloss.core.errors`).

It imports nothing from imgloss.
"""
