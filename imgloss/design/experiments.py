"""The experiment design as plain data: profiles, loss schedules and the experiments' grids.

Nothing here trains, reads files or imports torch: the runner (:mod:`imgloss.experiments.runner`)
turns these records into training runs, and the report, figures and notebooks use them to name what
they show.

* A :class:`Profile` says how long and on what a run trains and is evaluated (``smoke`` for CI,
  ``quick`` for a 2-core CPU, ``paper`` for a GPU).
* A :class:`RunSpec` is one run: a task, a loss *schedule* (one or more ``(loss, options)``
  phases, Section 5.1's switching runs having two) and a seed. Its :attr:`RunSpec.label`
  (``l2``, ``l1-l2``, ``mix_alpha0.5``) is the one name of the schedule everywhere: folders,
  summaries, tables and training curves.
* :func:`experiment_runs` lists the runs of an experiment (:data:`EXPERIMENTS`) at a profile.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from imgloss.core.errors import InputError
from imgloss.data.source import DataSource, RunData, dataset_ref

#: A loss of a schedule, its registry name and its options, e.g. ``("mix", (("alpha", 0.5),))``.
LossSpec = tuple[str, tuple[tuple[str, float], ...]]


@dataclass(frozen=True)
class Profile:
    """How long and on what a profile trains and evaluates."""

    name: str
    steps: int
    batch_size: int
    lr: float = 1e-3
    patch: int | None = None  # input patch side of the runs (None: the paper's 31; see geometry)
    switch_steps: int = 0  # length of the second phase of the switching runs
    # Starting lr of that second phase, a tenth of the default ``lr``, so the switch continues the
    # converged network instead of restarting it (at the full lr the test error jumps up after the
    # switch, and l1 -> l2 and the l2 -> l2 control end worse than before; see DEVELOPERS.md).
    switch_lr: float = 1e-4
    seeds: tuple[int, ...] = (0,)
    # ``(experiment, task)`` pairs whose runs use every seed of ``seeds``; the other runs use the
    # first seed only. ``None``: every run uses every seed.
    all_seeds: tuple[tuple[str, str], ...] | None = None
    eval_every: int = 100
    checkpoint_every: int = 100
    train_images: int | None = None
    val_crops: int = 8
    val_size: int = 96
    test_sets: str = "all"  # "all" of the task's test sets present, or "primary" (the first)
    test_images: int | None = None  # evaluate only the first N images of each test set
    test_images_for: tuple[tuple[str, int], ...] = ()  # per-task exceptions to test_images
    test_crop: int | None = None  # evaluate on a centre crop of this side (None: full image)
    crops: int = (
        2  # figure crops saved per run (a flat and an edge region; imgloss.experiments.crops)
    )
    crop_size: int = 96
    experiments: tuple[str, ...] = ("table1", "switching")  # what `imgloss run all` runs

    def seeds_for(self, experiment: str, task: str) -> tuple[int, ...]:
        """The seeds of ``experiment``'s runs of ``task`` (see ``all_seeds``)."""
        if self.all_seeds is None or (experiment, task) in self.all_seeds:
            return self.seeds
        return self.seeds[:1]

    def test_image_count(self, task: str) -> int | None:
        """How many images of each test set a run of ``task`` is scored on (``None``: all)."""
        return dict(self.test_images_for).get(task, self.test_images)


PROFILES: dict[str, Profile] = {
    # CI: seconds per run, on the embedded photographs when no data root is set.
    "smoke": Profile(
        "smoke",
        steps=6,
        batch_size=4,
        switch_steps=4,
        eval_every=3,
        checkpoint_every=3,
        train_images=6,
        val_crops=2,
        val_size=48,
        test_sets="primary",
        test_images=1,
        test_crop=192,
        crop_size=48,
    ),
    # A 2-core CPU in a few hours: Table 1 (all three tasks) and the switching runs at three
    # seeds (the claims' statistics need them), the other runs at one; every image of the first test
    # set (all 24 of Kodak24) except JPEG's LIVE1, cut to 8 images because scoring its 29 would
    # take longer than training. Scoring 24 Kodak24 images takes about as long as training, so
    # the runs are shorter than before (400 steps of 48 patches). How long the runs took is read
    # from their records: `imgloss run all --profile quick --estimate`.
    "quick": Profile(
        "quick",
        steps=400,
        batch_size=48,
        switch_steps=200,
        seeds=(0, 1, 2),
        all_seeds=(
            ("table1", "demosaic"),
            ("table1", "sr"),
            ("table1", "jpeg"),
            ("switching", "demosaic"),
            ("geometry", "demosaic"),
            ("modern", "demosaic"),
        ),
        eval_every=50,
        checkpoint_every=100,
        test_sets="primary",
        test_images_for=(("jpeg", 8),),
        experiments=("table1", "switching", "fig8", "alpha"),
    ),
    # A GPU: long enough for the validation curves to flatten, three seeds, all test sets.
    # Its geometry (no `patch`: the paper's 31 x 31 input, a 15 x 15 output) follows the
    # three-seed geometry ablation of the quick profile, where the larger output won for
    # no loss (tests/report/test_claims.py holds it to the committed verdicts).
    "paper": Profile(
        "paper",
        steps=4000,
        batch_size=512,
        switch_steps=2000,
        seeds=(0, 1, 2),
        eval_every=250,
        checkpoint_every=500,
        val_crops=16,
        experiments=("table1", "switching", "fig8", "alpha"),
    ),
}

TABLE1_LOSSES = {
    "demosaic": ("l2", "l1", "ssim5", "ssim9", "msssim", "mix"),
    "sr": ("l2", "l1", "msssim", "mix"),
    "jpeg": ("l2", "l1", "msssim", "mix"),
}
#: SSIM's sigma_G of the Fig. 8 runs (demosaicking, loss ``ssimK``).
FIG8_SIGMAS = (1, 3, 5, 9)
#: Section 5.1's loss schedules ``(first, second)``, the last two being the continued controls.
SWITCHES = (("l1", "l2"), ("l2", "l1"), ("l1", "l1"), ("l2", "l2"))
#: Mix's alpha in the alpha sweep (0.84 is the paper's).
ALPHAS = (0.0, 0.25, 0.5, 0.84, 1.0)
#: The losses of the patch-geometry ablation, those whose Gaussians (sigma up to 8) a 15 x 15
#: network output cuts at about one sigma.
GEOMETRY_LOSSES = ("l1", "msssim", "mix")
#: The paper's input side ("a 31 x 31 x 3 input", Sec. 4.1).
PAPER_PATCH = 31
#: The input side of the ablation's larger geometry. 47 x 47 inputs give 31 x 31 outputs through
#: PaperNet's valid convolutions (the default 31 x 31 inputs give 15 x 15 outputs).
GEOMETRY_PATCH = 47
#: The losses of the convergence probe, at seed 0. Each is trained at the profile's length,
#: then continued EXTENSION x longer at its final learning rate.
CONVERGENCE_LOSSES = ("l1", "mix")
#: How much longer the convergence probe continues a run, as a fraction (0.5 is 50% more).
EXTENSION = 0.5
#: The probe's criterion. The length is converged when the continuation gains less than this
#: much test PSNR (dB) on the first test set (Kodak24 for demosaicking).
CONVERGED_GAIN_DB = 0.1
#: The losses of "Ten years on" (issue 34), those from after the paper next to the paper's, on each
#: network of :data:`MODERN_NETWORKS` (demosaicking).
MODERN_LOSSES = ("l2", "l1", "charbonnier", "psnr", "msssim", "mix")
#: The networks of "Ten years on", the task's own (``None``, PaperNet) and the two of
#: :mod:`imgloss.training.modern_nets`. Each also trains Section 5.1's l2 -> l1 switch and its
#: l2 -> l2 control, so that "l2 was stuck" is decided per network.
MODERN_NETWORKS = (None, "ResidualNet", "UNet")
#: The switching schedules of "Ten years on" (those of "l2 was stuck").
MODERN_SWITCHES = (("l2", "l1"), ("l2", "l2"))
#: The experiments ``imgloss run`` knows (a profile's ``experiments`` are what ``run all`` runs).
EXPERIMENTS = ("table1", "fig8", "switching", "alpha", "geometry", "convergence", "modern")
#: Experiments whose runs use the profile's first seed only.
FIRST_SEED_ONLY = ("convergence",)


def loss_label(name: str, options=()) -> str:
    """The label of one loss of a schedule: ``"mix"``, ``"mix_alpha0.5"``."""
    return name + "".join(f"_{k}{float(v):g}" for k, v in tuple(options))


#: What joins the phases of a schedule label (``l1-l2``) and what starts its run's qualifiers
#: (``mix@patch47``, ``l1@ext``). Loss labels hold neither.
PHASE_SEPARATOR, QUALIFIER = "-", "@"


def schedule_label(*phases: str) -> str:
    """The label of a schedule of phases given by their loss labels: ``("l2", "l1")`` ->
    ``"l2-l1"`` (:attr:`RunSpec.label` without its qualifiers)."""
    for phase in phases:
        if not phase or PHASE_SEPARATOR in phase or QUALIFIER in phase:
            raise ValueError(f"not a loss label: {phase!r}")
    return PHASE_SEPARATOR.join(phases)


def label_phases(label: str) -> tuple[str, ...]:
    """The loss labels of a schedule label's phases, its qualifiers left out:
    ``"l1-l2@ext"`` -> ``("l1", "l2")`` (the inverse of :func:`schedule_label`)."""
    return tuple(label.split(QUALIFIER)[0].split(PHASE_SEPARATOR))


def label_network(label: str) -> str | None:
    """The network named in a schedule label's qualifiers, ``None`` for the task's own:
    ``"l1@ResidualNet@patch47"`` -> ``"ResidualNet"``, ``"l1@ext"`` -> ``None``."""
    for qualifier in label.split(QUALIFIER)[1:]:
        if qualifier != "ext" and not qualifier.startswith("patch"):
            return qualifier
    return None


def with_network(label: str, network: str | None) -> str:
    """A label of a run of the task's network (``"l2-l1"``, ``"l1@ext"``) as trained on
    ``network`` (``"l2-l1@UNet"``, ``"l1@UNet@ext"``; ``None``: unchanged), with the network
    first among the qualifiers as :attr:`RunSpec.label` spells it. A label that names a network
    already is an error."""
    if network is None:
        return label
    if label_network(label) is not None:
        raise ValueError(f"{label!r} names a network already")
    schedule, *qualifiers = label.split(QUALIFIER)
    return QUALIFIER.join([schedule, network, *qualifiers])


@dataclass(frozen=True)
class RunSpec:
    """One run: a task, its loss schedule as ``((loss, options), ...)`` phases, a seed, and the
    side of its input patches (``None``: the trainer's default, the paper's 31)."""

    task: str
    losses: tuple[LossSpec, ...]
    seed: int = 0
    patch: int | None = None
    # Continued for EXTENSION x the profile's steps at the final learning rate of the last phase
    # (the convergence probe): the run without it is its parent.
    extended: bool = False
    # The network by name (imgloss.training.models.network_class); None: the task's own.
    network: str | None = None

    def parent(self) -> RunSpec | None:
        """The run this one continues from (the same run not extended, or all phases but the
        last), if any."""
        if self.extended:
            return replace(self, extended=False)
        return replace(self, losses=self.losses[:-1]) if len(self.losses) > 1 else None

    @property
    def label(self) -> str:
        """The schedule's name, the phases' :func:`loss_label` joined by ``-`` (``l1-l2``), with
        ``@patchN`` for a run on ``N x N`` input patches (``mix@patch47``) and ``@ext`` for an
        extended run (``l1@ext``), and ``@NETWORK`` for a run of another network than its task's
        (``l1@ResidualNet``)."""
        name = schedule_label(*(loss_label(loss, options) for loss, options in self.losses))
        name = with_network(name, self.network)
        name = name if self.patch is None else f"{name}{QUALIFIER}patch{self.patch}"
        return f"{name}{QUALIFIER}ext" if self.extended else name


def canonical_loss(name: str, options: dict | None = None) -> LossSpec:
    """The one spelling of a loss, so that names meaning the same loss share one run and one
    label: lower case without spaces, ``ssim5.0`` as ``ssim5``, and options equal to the loss's
    default dropped (``mix`` with ``alpha=0.84`` is ``mix``). An unknown name is an
    :class:`~imgloss.core.errors.InputError` (a ``ValueError``) listing the valid ones."""
    import re

    from imgloss.losses import registry  # torch: imported only when a schedule is spelled out

    if not isinstance(name, str):
        raise TypeError(f"loss name must be a string, got {type(name).__name__}")
    key = re.sub(r"\s+", "", name).lower()
    sigma = registry.ssim_sigma(key)
    if sigma is not None:
        key = f"ssim{sigma:g}"
    try:
        module = registry.get(key)
    except ValueError as err:  # an unknown name: the user's
        raise InputError(str(err)) from err
    defaults = {f.name: getattr(module.options, f.name) for f in fields(module.options)}
    kept = {}
    for option, value in (options or {}).items():
        value = float(value)
        if not (
            option in defaults
            and isinstance(defaults[option], int | float)
            and float(defaults[option]) == value
        ):
            kept[option] = value
    return key, tuple(sorted(kept.items()))


def spec(
    task: str,
    *losses: str | tuple[str, dict],
    seed: int = 0,
    patch: int | None = None,
    extended: bool = False,
    network: str | None = None,
) -> RunSpec:
    """``spec("demosaic", "l2", "l1")``: l2 then l1; ``("mix", {"alpha": 0.5})`` for options;
    ``patch=47`` for 47 x 47 inputs; ``extended=True`` for the convergence probe's continued
    run; ``network="ResidualNet"`` for another network than the task's. Each loss is spelled
    canonically (:func:`canonical_loss`)."""
    phases = []
    for item in losses:
        name, options = (item, {}) if isinstance(item, str) else item
        phases.append(canonical_loss(name, options))
    return RunSpec(task, tuple(phases), seed, patch, extended, network)


def is_parent(run: RunSpec, profile: Profile) -> bool:
    """Whether a run of some experiment at ``profile`` continues from ``run``
    (:meth:`RunSpec.parent`): its final state must then stay exact
    (:mod:`imgloss.training.weights`)."""
    return any(r.parent() == run for e in EXPERIMENTS for r in experiment_runs(e, profile))


def experiment_runs(
    experiment: str, profile: Profile, tasks: list[str] | None = None
) -> list[RunSpec]:
    """The runs of ``experiment`` at ``profile``, each at the seeds ``profile.seeds_for`` gives
    (seed by seed, so that a partial job has whole seeds)."""
    if experiment not in EXPERIMENTS:
        raise InputError(f"unknown experiment {experiment!r}; choose from {', '.join(EXPERIMENTS)}")
    runs = [r for r in _design(experiment) if tasks is None or r.task in tasks]
    if experiment == "geometry" and profile.patch == GEOMETRY_PATCH:
        runs = [replace(r, patch=PAPER_PATCH) for r in runs]  # the other geometry: the paper's
    seeds = profile.seeds[:1] if experiment in FIRST_SEED_ONLY else profile.seeds
    return [
        replace(r, seed=seed)
        for seed in seeds
        for r in runs
        if seed in profile.seeds_for(experiment, r.task)
    ]


def unique_runs(
    experiments: list[str] | tuple[str, ...], profile: Profile, tasks: list[str] | None = None
) -> list[RunSpec]:
    """The runs of ``experiments`` at ``profile`` in design order, each once (experiments share
    runs: Table 1's runs are the parents of the switching runs, Fig. 8 shares SSIM5)."""
    seen: dict[RunSpec, None] = {}
    for experiment in experiments:
        for run in experiment_runs(experiment, profile, tasks):
            seen.setdefault(run, None)
    return list(seen)


def _design(experiment: str) -> list[RunSpec]:
    """The runs of one experiment at seed 0."""
    if experiment == "table1":
        return [spec(task, n) for task, names in TABLE1_LOSSES.items() for n in names]
    if experiment == "fig8":
        return [spec("demosaic", f"ssim{s}") for s in FIG8_SIGMAS]
    if experiment == "switching":
        return [spec("demosaic", a, b) for a, b in SWITCHES]
    if experiment == "geometry":
        return [spec("demosaic", n, patch=GEOMETRY_PATCH) for n in GEOMETRY_LOSSES]
    if experiment == "modern":  # PaperNet's runs are Table 1's and the switching experiment's
        return [
            spec("demosaic", *schedule, network=network)
            for network in MODERN_NETWORKS
            for schedule in (*((n,) for n in MODERN_LOSSES), *MODERN_SWITCHES)
        ]
    if experiment == "convergence":  # each loss at the profile's length, then continued
        return [
            r
            for n in CONVERGENCE_LOSSES
            for r in (spec("demosaic", n), spec("demosaic", n, extended=True))
        ]
    return [spec("demosaic", "mix" if a == 0.84 else ("mix", {"alpha": a})) for a in ALPHAS]


def evaluation_settings(profile: Profile, task: str | None = None) -> dict:
    """The profile's test-time settings for a run of ``task`` (part of every run's key); without
    a task, the profile's (with the per-task exceptions, if any)."""
    settings = _evaluation(
        profile, profile.test_images if task is None else profile.test_image_count(task)
    )
    if task is None and profile.test_images_for:
        settings["test_images_for"] = dict(profile.test_images_for)
    return settings


def _evaluation(profile: Profile, test_images: int | None) -> dict:
    return {
        "test_sets": profile.test_sets,
        "test_images": test_images,
        "test_crop": profile.test_crop,
        "crops": profile.crops,
        "crop_size": profile.crop_size,
    }


def run_data(source: DataSource, task, profile: Profile) -> RunData:
    """The datasets a run of ``task`` (an :class:`imgloss.design.tasks.Task`) uses at ``profile``:
    the source's training set, the first test set for validation, and the profile's test sets."""
    tests = source.test_sets(task)
    if profile.test_sets == "primary":
        tests = tests[:1]
    return RunData(
        train=dataset_ref(source.train_set(task)),
        val=dataset_ref(tests[0]),
        test=tuple(dataset_ref(t) for t in tests),
    )
