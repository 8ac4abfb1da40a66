"""Ten years on (issue 34): the experiment's design, its claims decided network by network with
the run-to-run variance pooled within a network, and the gains over l2 against closed forms."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from imgloss.design import experiments as design
from imgloss.report import claims, ten_years
from imgloss.results.scores import Scores

IMAGES = tuple(f"img{i:02d}" for i in range(24))
SEEDS = (0, 1, 2)


class NetworkScores:
    """A score source for the modern grid: ``means[network][schedule]`` dB (``l2`` error in
    units of 1e-3 for the switching runs), 24 images x 3 seeds, a shared image effect, and a
    run-to-run spread ``spread[network]``."""

    def __init__(self, means: dict, spread: dict | None = None, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.image_effect = rng.normal(0, 1.0, (len(IMAGES), 1))
        self.values = {}
        for network, schedules in means.items():
            sd = (spread or {}).get(network, 0.05)
            for schedule, mean in schedules.items():
                label = design.with_network(schedule, network)
                noise = rng.normal(0, 0.02, (len(IMAGES), 3)) + rng.normal(0, sd, (1, 3))
                self.values[label] = mean + self.image_effect + noise

    def runs(self, task, dataset, schedule, measure):
        if schedule not in self.values:
            return None
        values = self.values[schedule]
        if measure == "l2":  # a lower-is-better error with the same ordering as the PSNR
            values = 1e-3 * np.exp(-values / 10)
        elif measure != "psnr":
            return None
        return Scores(IMAGES, SEEDS, values)

    def column(self, task, dataset, column, measure):
        return None

    def schedules(self, task):
        return sorted(self.values)

    def datasets(self, task, schedule):
        return ["Kodak24"] if schedule in self.values else []


def _grid(l1_gain: dict, mix_gain: float = 0.5) -> dict:
    """Means per network: l2 at 30 dB, l1 at ``30 + l1_gain[network]``, Mix best by
    ``mix_gain``, the other losses between, and l2 -> l1 above l2 -> l2 by ``l1_gain``."""
    out = {}
    for network, gain in l1_gain.items():
        out[network] = {
            "l2": 30.0,
            "l1": 30.0 + gain,
            "charbonnier": 30.0 + gain,
            "psnr": 30.0,
            "msssim": 30.0 + gain,
            "mix": 30.0 + max(gain, 0.0) + mix_gain,
            "l2-l1": 31.0 + gain,
            "l2-l2": 31.0,
        }
    return out


def _verdict(found, key):
    return next(v for v in found if v.claim.key == key)


def test_the_design_trains_every_loss_on_every_network_sharing_papernets_runs():
    quick = design.PROFILES["quick"]
    runs = design.experiment_runs("modern", quick)
    per_seed = len(design.MODERN_NETWORKS) * (
        len(design.MODERN_LOSSES) + len(design.MODERN_SWITCHES)
    )
    assert len(runs) == per_seed * len(quick.seeds) == 72
    assert {r.label for r in runs} >= {"charbonnier", "psnr@UNet", "l2-l1@ResidualNet"}
    for run in runs:
        assert design.label_network(run.label) == run.network
    shared = set(design.unique_runs(["table1", "switching"], quick))
    papernet = [r for r in runs if r.network is None]
    assert {r.label for r in papernet if r in shared} == {"l2", "l1", "msssim", "mix"} | {
        "l2-l1",
        "l2-l2",
    }
    assert "modern" not in quick.experiments  # `run all` (the main job) never trains it


@pytest.mark.parametrize(
    ("label", "network"),
    [("l1", None), ("l1@ext", None), ("mix@patch47", None), ("l2-l1@UNet", "UNet")],
)
def test_label_network_reads_the_network_among_the_qualifiers(label, network):
    assert design.label_network(label) == network


@pytest.mark.parametrize("extended", [False, True])
@pytest.mark.parametrize("patch", [None, 47])
def test_with_network_spells_labels_as_the_run_does(patch, extended):
    plain = design.spec("demosaic", "l2", "l1", patch=patch, extended=extended)
    on_unet = design.spec("demosaic", "l2", "l1", patch=patch, extended=extended, network="UNet")
    assert design.with_network(plain.label, "UNet") == on_unet.label
    assert design.with_network(plain.label, None) == plain.label
    with pytest.raises(ValueError, match="names a network already"):
        design.with_network(on_unet.label, "ResidualNet")


def test_each_network_is_decided_on_its_own_runs():
    source = NetworkScores(_grid({None: 1.0, "ResidualNet": 0.0, "UNet": -1.0}))
    found = ten_years.modern_verdicts(source)
    assert _verdict(found, "l1_beats_l2_PaperNet").verdict == "holds"
    assert _verdict(found, "l1_beats_l2_UNet").verdict == "contradicted"
    residual = _verdict(found, "l1_beats_l2_ResidualNet")
    assert residual.verdict == "undecided" and residual.mde is not None and residual.mde > 0
    assert _verdict(found, "mix_best_PaperNet").verdict == "holds"
    assert len(_verdict(found, "mix_best_UNet").parts) == len(design.MODERN_LOSSES) - 1
    assert _verdict(found, "l2_was_stuck_PaperNet").verdict == "holds"
    text = ten_years.findings_markdown(source)
    assert "Changed from PaperNet's verdict (holds) on ResidualNet (undecided), UNet " in text


def test_a_network_without_runs_is_not_run_and_compared_with_nothing():
    source = NetworkScores(_grid({None: 1.0}))
    found = ten_years.modern_verdicts(source)
    unrun = _verdict(found, "l1_beats_l2_UNet")
    assert (unrun.verdict, unrun.note, unrun.dataset) == ("undecided", "not run", None)
    assert "UNet: not trained yet" in ten_years.findings_markdown(source)
    assert "No modern network to compare with PaperNet yet." in ten_years.findings_markdown(source)


def test_run_variance_is_pooled_within_a_network_only():
    """A wildly seed-dependent UNet must not widen PaperNet's intervals."""
    calm = NetworkScores(_grid({None: 1.0}), seed=3)
    wild = NetworkScores(_grid({None: 1.0, "UNet": 1.0}), {"UNet": 3.0}, seed=3)
    for label in calm.values:  # the same PaperNet scores in both sources
        wild.values[label] = calm.values[label]
    a = claims.difference(calm, "demosaic", "Kodak24", "l1", "l2", "psnr")[0]
    b = claims.difference(wild, "demosaic", "Kodak24", "l1", "l2", "psnr")[0]
    assert a.ci(0.95) == pytest.approx(b.ci(0.95))
    unet = claims.difference(wild, "demosaic", "Kodak24", "l1@UNet", "l2@UNet", "psnr")[0]
    assert unet.se > 10 * a.se


def test_gains_over_l2_are_the_mean_paired_differences_on_the_same_network():
    source = NetworkScores(_grid({None: 1.0, "ResidualNet": 0.25}))
    gains = ten_years.gains_over_l2(source)
    assert list(gains) == ["PaperNet", "ResidualNet"]
    for network, found in gains.items():
        net = None if network == "PaperNet" else network
        l2 = source.values[design.with_network("l2", net)]
        for g in found:
            a = source.values[design.with_network(g.loss, net)]
            assert g.effect == pytest.approx(float((a - l2).mean()), abs=1e-9)
            assert g.low < g.effect < g.high and (g.n_images, g.n_seeds) == (24, 3)
    table = ten_years.gains_markdown(gains)
    assert table.splitlines()[0].count("gain over l2") == 2


def test_run_counts_count_the_designed_runs_a_view_holds():
    held = [
        SimpleNamespace(task="demosaic", schedule=label, seed=seed)
        for label in ("l2", "l1", "l1@UNet", "l1@NotInTheDesign")
        for seed in (0, 1)
    ]
    view = SimpleNamespace(profile="quick", runs=lambda: held)
    counts = ten_years.run_counts(view)
    assert counts == {"PaperNet": (4, 24), "ResidualNet": (0, 24), "UNet": (2, 24)}
    assert "**6 of the 72 runs**" in ten_years.status_markdown(view)


def test_the_networks_table_states_parameters_and_cost_from_the_networks():
    from imgloss.training import models

    table = ten_years.networks_markdown()
    params = sum(p.numel() for p in models.for_task("demosaic", "UNet").parameters())
    assert "| UNet |" in table and f"{params:,}" in table


def test_training_length_says_short_runs_are_short(tmp_path):
    from imgloss.results import records

    text = ten_years.training_length_markdown(records.open_view(tmp_path, "quick"))
    assert "400 steps of 48 patches" in text and "**they are short**" in text
    assert "has not run on this data source" in text  # no probe in an empty results folder


def test_imgloss_report_adds_the_experiment_once_a_modern_network_has_runs(
    tmp_path, monkeypatch, capsys
):
    """Runs written as the runner writes them (two images, chosen PSNRs): `imgloss report`
    gives the experiment's section with the UNet's gain of l1 over l2, their mean difference."""
    from imgloss.cli.commands import main
    from imgloss.experiments import runner
    from imgloss.results.workspace import Workspace

    from ..results.fake_runs import finish

    monkeypatch.delenv("IMGLOSS_DATA_ROOT", raising=False)
    smoke = design.PROFILES["smoke"]
    ws = Workspace.resolve(tmp_path, device="cpu", progress=False)
    finish(ws, design.spec("demosaic", "l2"), smoke, scores={"a": 30.0, "b": 31.0})
    finish(ws, design.spec("demosaic", "l1"), smoke, scores={"a": 31.0, "b": 32.0})
    runner.save_summaries(["modern"], smoke, ws, say=lambda _: None)
    assert main(["report", "--profile", "smoke", "--results", str(tmp_path)]) == 0
    assert "Ten years on" not in capsys.readouterr().out  # PaperNet alone: nothing new

    finish(ws, design.spec("demosaic", "l2", network="UNet"), smoke, scores={"a": 30, "b": 31})
    finish(ws, design.spec("demosaic", "l1", network="UNet"), smoke, scores={"a": 30.5, "b": 32})
    runner.save_summaries(["modern"], smoke, ws, say=lambda _: None)
    assert main(["report", "--profile", "smoke", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "## Ten years on" in out and "UNet 2 of 8" in out
    assert "| l1 | +1.00 [" in out and "+0.75 [" in out  # PaperNet +1, UNet (0.5 + 1) / 2
