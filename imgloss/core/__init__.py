"""Layer 0, what every layer uses: provenance records (commit, versions, device, date),
atomic writes and JSON files (:mod:`imgloss.core.provenance`).

It imports nothing from imgloss.
"""
