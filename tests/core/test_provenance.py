"""Provenance: which commit made a result, and whether its code was committed."""

from __future__ import annotations

import subprocess


def test_a_rewritten_results_file_leaves_the_commit_clean_but_a_code_change_does_not(
    tmp_path, monkeypatch
):
    """A campaign rewrites committed summaries under results/ while it runs committed code: its
    records must not read "+dirty". A change to code must, and its hash must differ per change."""
    import re

    from imgloss.core import provenance

    monkeypatch.delenv("IMGLOSS_COMMIT", raising=False)

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "summary.json").write_text("{}")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("-c", "user.email=a@b", "-c", "user.name=a", "add", ".")
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "-m", "init")
    clean = provenance.git_commit(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{40}", clean), clean
    (tmp_path / "results" / "summary.json").write_text('{"runs": 3}')
    assert provenance.git_commit(tmp_path) == clean
    (tmp_path / "code.py").write_text("x = 2\n")
    first = provenance.git_commit(tmp_path)
    assert provenance.is_dirty(first) and first.startswith(clean)
    (tmp_path / "code.py").write_text("x = 3\n")
    assert provenance.git_commit(tmp_path) not in (first, clean)
