"""Ten years on (issue 34): do the paper's findings hold for today's losses and networks?

The ``modern`` experiment (:data:`imgloss.design.experiments.MODERN_LOSSES` on each of
:data:`~imgloss.design.experiments.MODERN_NETWORKS`, demosaicking) is decided with the claims'
machinery (:mod:`imgloss.report.claims`), network by network:

* "l1 beats l2" and "Mix is best" (against every other loss of the grid, Charbonnier and the PSNR
  loss included), on PSNR with the other measures secondary;
* "l2 was stuck": the l2 -> l1 switch beats the l2 -> l2 control on the l2 error.

A network's runs are compared only with runs of the same network, and the run-to-run variance
is pooled within it. PaperNet's runs are
Table 1's and the switching experiment's, shared.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgloss.design.experiments import MODERN_LOSSES, MODERN_NETWORKS, schedule_label, with_network
from imgloss.metrics import METRICS
from imgloss.report.claims import Claim, Verdict, difference, verdicts
from imgloss.results.records import View
from imgloss.results.scores import ScoreSource, ViewScores

TASK = "demosaic"
#: The measures of the claims: PSNR decides, the others are secondary (as in Table 1's claims).
MEASURES = ("psnr", *(m for m in METRICS if m != "psnr"))


def network_name(network: str | None) -> str:
    """The name a reader sees: ``None`` (the task's own network) is PaperNet."""
    return network or "PaperNet"


def modern_claims(network: str | None) -> tuple[Claim, ...]:
    """The claims decided on one network's runs (their keys end in the network's name)."""
    on = with_network
    name = network_name(network)
    source = "Sec. 5.1, Table 1, retested on " + name
    l2_l1, l2_l2 = schedule_label("l2", "l1"), schedule_label("l2", "l2")
    return (
        Claim(
            f"l1_beats_l2_{name}",
            f"l1 beats l2 ({name})",
            source,
            "better",
            (TASK,),
            MEASURES,
            on("l1", network),
            on("l2", network),
            chapter="modern",
        ),
        Claim(
            f"mix_best_{name}",
            f"Mix is best ({name})",
            source,
            "best",
            (TASK,),
            MEASURES,
            on("mix", network),
            others=tuple(on(n, network) for n in MODERN_LOSSES if n != "mix"),
            chapter="modern",
        ),
        Claim(
            f"l2_was_stuck_{name}",
            f"l2 was stuck: l2 -> l1 beats continuing with l2 ({name})",
            "Sec. 5.1, retested on " + name,
            "better",
            (TASK,),
            ("l2",),
            on(l2_l1, network),
            on(l2_l2, network),
            chapter="modern",
        ),
    )


def all_claims() -> tuple[Claim, ...]:
    """:func:`modern_claims` of every network of the experiment, network by network."""
    return tuple(c for n in MODERN_NETWORKS for c in modern_claims(n))


def modern_verdicts(view: View | ScoreSource) -> list[Verdict]:
    """:func:`all_claims` decided on ``view`` (:func:`imgloss.report.claims.verdicts`: on each
    test set the runs were scored on, or an undecided "not run" verdict where a network has no
    runs yet)."""
    return verdicts(view, all_claims())


@dataclass(frozen=True)
class Gain:
    """One loss's mean paired gain over l2 on one network, with its 95% interval and counts."""

    network: str
    loss: str
    effect: float
    low: float
    high: float
    n_images: int
    n_seeds: int


def gains_over_l2(view: View | ScoreSource, measure: str = "psnr") -> dict[str, list[Gain]]:
    """Per network name, each loss's gain over l2 *on that network* on ``measure`` (the first
    test set), under the claims' model: image and pooled training variance. A network without
    both runs is left out. ``view`` may also be any score source."""
    source = ViewScores(view) if isinstance(view, View) else view
    out: dict[str, list[Gain]] = {}
    for network in MODERN_NETWORKS:
        l2 = with_network("l2", network)
        datasets = source.datasets(TASK, l2)
        if not datasets:
            continue
        gains = []
        for loss in MODERN_LOSSES[1:]:
            found = difference(source, TASK, datasets[0], with_network(loss, network), l2, measure)
            if found is not None:
                est = found[0]
                low, high = est.ci(0.95)
                name = network_name(network)
                gains.append(Gain(name, loss, est.effect, low, high, est.n_images, est.n_seeds))
        if gains:
            out[network_name(network)] = gains
    return out


def networks_markdown() -> str:
    """The networks compared: parameters and floating-point operations per output pixel,
    counted from the convolutions that run (:func:`imgloss.training.modern_nets.cost`)."""
    from imgloss.training import models, modern_nets

    out = [
        "| network | what it is | parameters | FLOPs per output pixel |",
        "|---|---|---:|---:|",
    ]
    what = {
        "PaperNet": "the paper's: 9 × 9, 5 × 5 and 5 × 5 valid convolutions, 64 wide (Sec. 4.1)",
        "ResidualNet": "DnCNN-style: 8 valid 3 × 3 convolutions of 48 channels, residual",
        "UNet": "a small U-Net, widths 24-48-96, residual",
    }
    for network in MODERN_NETWORKS:
        cost = modern_nets.cost(models.for_task(TASK, network), name=network_name(network))
        out.append(
            f"| {cost.name} | {what.get(cost.name, '')} | {cost.parameters:,} | "
            f"{cost.flops_per_pixel / 1e3:,.0f} k |"
        )
    return "\n".join(out)


def gains_markdown(gains: dict[str, list[Gain]], measure_unit: str = "dB") -> str:
    """:func:`gains_over_l2` as a table: one row per loss, one column per network."""
    if not gains:
        return ""
    networks = list(gains)
    found: dict[tuple[str, str], Gain] = {(g.network, g.loss): g for v in gains.values() for g in v}
    out = [
        "| loss | " + " | ".join(f"{n}: gain over l2 [95% CI]" for n in networks) + " |",
        "|---|" + "---:|" * len(networks),
    ]
    for loss in MODERN_LOSSES[1:]:
        cells = []
        for n in networks:
            g = found.get((n, loss))
            cells.append(
                "—"
                if g is None
                else f"{g.effect:+.2f} [{g.low:+.2f}, {g.high:+.2f}] {measure_unit} "
                f"({g.n_images} × {g.n_seeds})"
            )
        out.append(f"| {loss} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def run_counts(view: View) -> dict[str, tuple[int, int]]:
    """Per network name, ``(finished, designed)`` runs of the experiment at the view's profile
    (a finished run is one the view holds, whichever experiment trained it: PaperNet's are
    Table 1's and the switching experiment's)."""
    from imgloss.design.experiments import PROFILES, experiment_runs

    profile = PROFILES.get(view.profile)
    designed = experiment_runs("modern", profile) if profile else []
    held = {(e.task, e.schedule, e.seed) for e in view.runs()}
    out: dict[str, tuple[int, int]] = {}
    for network in MODERN_NETWORKS:
        runs = [r for r in designed if r.network == network]
        done = sum((r.task, r.label, r.seed) in held for r in runs)
        out[network_name(network)] = (done, len(runs))
    return out


def status_markdown(view: View) -> str:
    """One paragraph: how many of the designed runs are finished, per network, and the
    commands that estimate and train the rest."""
    counts = run_counts(view)
    done = sum(d for d, _ in counts.values())
    total = sum(n for _, n in counts.values())
    each = ", ".join(f"{name} {d} of {n}" for name, (d, n) in counts.items())
    text = f"**{done} of the {total} runs** of profile `{view.profile}` are finished ({each})."
    if done < total:
        text += (
            " The verdicts below use the finished runs only. `imgloss run modern --profile "
            f"{view.profile} --estimate` says how long the rest will take on this machine, and "
            f"`imgloss run modern --profile {view.profile} --budget 3h` trains them in batches "
            "that end within the budget."
        )
    return text


#: The questions of the chapter, by the key of their claim without the network's name.
QUESTIONS = {
    "l1_beats_l2": "Does l1 still beat l2?",
    "mix_best": "Is Mix still best, against today's losses too?",
    "l2_was_stuck": "Was l2 stuck? (l2 -> l1 against the l2 -> l2 control)",
}


def findings_markdown(view: View | ScoreSource) -> str:
    """What changed and what did not, one paragraph per question of :data:`QUESTIONS`: each
    network's verdict with its effect and interval (the smallest effect the runs detect when
    undecided), and whether the network agrees with PaperNet's verdict."""
    from imgloss.report.tables import effect_text

    found: dict[tuple[str, str | None], Verdict] = {
        (v.claim.key, v.dataset): v for v in modern_verdicts(view) if v.dataset is not None
    }
    datasets: list[str | None] = [*sorted({d for _, d in found if d is not None})] or [None]
    out = []
    for key, question in QUESTIONS.items():
        for dataset in datasets:
            where = f" ({dataset})" if dataset and len(datasets) > 1 else ""
            parts, decided = [], {}
            for network in MODERN_NETWORKS:
                name = network_name(network)
                v = found.get((f"{key}_{name}", dataset))
                if v is None or not v.n_images:
                    parts.append(f"{name}: not trained yet")
                    continue
                decided[name] = v.verdict
                parts.append(f"{name}: **{v.verdict}** ({effect_text(v)})")
            out.append(f"**{question}**{where} " + "; ".join(parts) + ". " + _compare(decided))
    return "\n\n".join(out)


def _compare(decided: dict[str, str]) -> str:
    """A sentence on whether the modern networks agree with PaperNet's verdict."""
    paper = decided.pop("PaperNet", None)
    if paper is None or not decided:
        return "No modern network to compare with PaperNet yet."
    if paper == "undecided" and set(decided.values()) == {"undecided"}:
        return "Undecided on every network so far."
    same = [n for n, v in decided.items() if v == paper]
    other = [f"{n} ({v})" for n, v in decided.items() if v != paper]
    if not other:
        return f"Unchanged: {' and '.join(same)} agree with PaperNet ({paper})."
    text = f"Changed from PaperNet's verdict ({paper}) on {', '.join(other)}"
    return text + (f"; unchanged on {', '.join(same)}." if same else ".")


def training_length_markdown(view: View, table: str = "the table below") -> str:
    """How long the runs of the view's profile trained, next to the length the convergence
    probe measured at the ``paper`` profile (:func:`imgloss.report.tables.convergence_markdown`
    gives its table, referred to as ``table``), and so how converged these runs are."""
    from imgloss.design.experiments import CONVERGED_GAIN_DB, EXTENSION, PROFILES
    from imgloss.report.tables import convergence_markdown

    profile, paper = PROFILES.get(view.profile), PROFILES["paper"]
    if profile is None:
        return f"Profile `{view.profile}` is not one of imgloss's profiles."
    ours, probed = profile.steps * profile.batch_size, paper.steps * paper.batch_size
    text = (
        f"These runs train {profile.steps:,} steps of {profile.batch_size} patches "
        f"({ours:,} patches, profile `{profile.name}`). The convergence probe calls a length "
        f"converged when training {EXTENSION:.0%} longer at the final learning rate gains less "
        f"than {CONVERGED_GAIN_DB} dB of test PSNR; it probes the `paper` profile's "
        f"{paper.steps:,} × {paper.batch_size} ({probed:,} patches) on PaperNet."
    )
    text += (
        f" {table[0].upper()}{table[1:]} gives its result on this data source. "
        if convergence_markdown(view)
        else " It has not run on this data source, so convergence is not measured here. "
    )
    if ours >= probed:
        return text + "These runs are at least as long as the probed length."
    return text + (
        f"These runs see {ours / probed:.1%} of the probed length: **they are short**, and "
        "their verdicts are about short training, where the paper's explanation (l2's local "
        "minima) and a plainly slower start cannot be told apart."
    )


def report_markdown(view: View) -> str:
    """The experiment for ``imgloss report``: the runs finished, the findings per network and
    the gains over l2, or ``""`` while no modern network has a finished run."""
    counts = run_counts(view)
    if not any(done for name, (done, _) in counts.items() if name != "PaperNet"):
        return ""
    gains = gains_markdown(gains_over_l2(view))
    return "\n\n".join((status_markdown(view), findings_markdown(view), gains)) + "\n"
