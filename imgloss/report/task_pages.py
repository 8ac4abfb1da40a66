"""The book's Table 1 pages: what the prose of each task's page says.

The book has one page per task of Table 1 (demosaicking, super-resolution, JPEG), and all three
are executed from one notebook (``notebooks/02-table1.ipynb``) with its ``task`` parameter
(:data:`imgloss.book.build.VARIANTS`). Everything that differs between the three pages is a
:class:`TaskPage` here: the title, the introduction, which claims the page decides, the paper's
figures it reproduces, how this reproduction differs from the paper for that task. The rest is
derived from the task's data (:mod:`imgloss.design.tasks` and the design's ``TABLE1_LOSSES``):
the reference columns of the table, the losses whose crops are shown.

The page's Markdown (:attr:`TaskPage.heading` and the other sections) names the page's numbered
table and figure labels, which carry the task (``tab-table1-sr``), so that the three pages built
from one notebook never share a label.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgloss.design.experiments import TABLE1_LOSSES
from imgloss.design.tasks import TASKS

#: The claims section's first paragraph, the same on every page that decides claims.
_CLAIMS_RULE = (
    "Each claim of the paper that this chapter tests, decided from paired per-image differences "
    "over\nevery test image and seed (*holds*, *contradicted* or *undecided*; a positive effect "
    "favours\nthe claim; the front page explains the rule)."
)


@dataclass(frozen=True)
class TaskPage:
    """The prose of one task's Table 1 page (Markdown, MyST roles allowed; no ``$`` in
    ``title``, which the sidebar shows without math)."""

    task: str  # the key of imgloss.design.tasks.TASKS
    title: str  # the page's title
    name: str  # the task in running text ("demosaicking"): captions, placeholders
    intro: str  # the paragraph under the title
    claims: str  # what the claims section decides ("Here: ...")
    lower_is_better: str  # the measures of the table where lower is better, in words
    paper_figures: str  # the paper's figures of visual comparisons ("Figs. 1 and 5")
    differences: str  # "Where this differs from the paper"
    crops_text: str = ""  # the visual comparison's paragraph ("": the common sentence)

    # ------------------------------------------------------------------ labels and captions
    @property
    def claims_label(self) -> str:
        """The name of the claims table (``{numref}`` target)."""
        return f"tab-claims-{self.task}"

    @property
    def table_label(self) -> str:
        """The name of our Table 1 (the paper's follows it as ``-2``, ``-3``, ...)."""
        return f"tab-table1-{self.task}"

    @property
    def figure_label(self) -> str:
        """The name of the figure of crops."""
        return f"fig-crops-{self.task}"

    @property
    def claims_caption(self) -> str:
        return f"The paper's claims about {self.name}, decided on our runs"

    @property
    def table_caption(self) -> str:
        return f"Table 1, {self.name}"

    @property
    def figure_caption(self) -> str:
        return (
            f"The networks trained with each loss on the same two crops of the first test image "
            f"({self.name}), beside the input they were given and the reference."
        )

    @property
    def missing(self) -> str:
        """What a table says where this profile has no results for the task."""
        return f"No {self.name} results at this profile yet."

    @property
    def losses(self) -> list[str]:
        """The losses of Table 1 for this task, in its order (the columns of the crops)."""
        return list(TABLE1_LOSSES[self.task])

    # ------------------------------------------------------------------------- the sections
    @property
    def heading(self) -> str:
        """The page's title and its introduction."""
        return f"# {self.title}\n\n{self.intro}\n"

    @property
    def claims_section(self) -> str:
        """The heading of the claims and the paragraph that introduces their table."""
        return (
            "## What our runs say about the paper's claims\n\n"
            f"{_CLAIMS_RULE} Here: {self.claims}. {{numref}}`{self.claims_label}` decides them.\n"
        )

    @property
    def table_section(self) -> str:
        """The heading of Table 1 and the paragraph that introduces it (the reference columns
        are the task's, with BM3D's where the task has that column)."""
        reference = (
            "the non-network and BM3D columns are"
            if TASKS[self.task].bm3d_column
            else "the non-network column is"
        )
        return (
            "## The paper's Table 1, reproduced\n\n"
            "Ours (mean over seeds, ± the 95% confidence half-width when there are several), the "
            "non-network\ncolumn, and, separately and labelled, the paper's values. In each row "
            f"the best loss is in **bold**\n({reference} for reference and never bold). Lower "
            f"is\nbetter for {self.lower_is_better}; higher for the rest. "
            f"{{numref}}`{self.table_label}` shows ours first, then the paper's.\n"
        )

    @property
    def crops_section(self) -> str:
        """The heading of the visual comparison and its paragraph."""
        text = self.crops_text or (
            "The networks' outputs on the same two crops of the first test image, beside the "
            f"input they were given and the reference ({{numref}}`{self.figure_label}`)."
        )
        return f"## Visual comparison (the paper's {self.paper_figures})\n\n{text}\n"

    @property
    def differences_section(self) -> str:
        """How this reproduction differs from the paper for this task."""
        return f"## Where this differs from the paper\n\n{self.differences}\n"


_L2 = r"$\ell_2$"
#: The three pages, by task.
TASK_PAGES: dict[str, TaskPage] = {
    "demosaic": TaskPage(
        task="demosaic",
        title="Joint denoising and demosaicking",
        name="demosaicking",
        intro=(
            "The paper's first task (Section 4.1): the network receives a bilinearly demosaicked "
            "RGGB mosaic\nwith clipped Poisson-Gaussian noise ($a = 0.005$, $b = 0.0001$) and "
            "restores the clean image. The\nsame network (PaperNet: $9\\times9$, $5\\times5$, "
            "$5\\times5$ convolutions with PReLU {cite:p}`he2015prelu`) is trained with each\n"
            "loss; only the loss changes. The BM3D column (VST + BM3D on the mosaic + DLMMSE "
            "demosaicking {cite:p}`zhang2005dlmmse`) appears\nwhen its results file covers the "
            "same full-resolution images."
        ),
        claims=(
            f"the ranking of the losses (Table 1), the regions where {_L2} fails (flat) and "
            "holds (edges), and the colours of the SSIM-trained networks"
        ),
        lower_is_better=r"$\ell_2$, $\ell_1$, GMSD and colour bias",
        paper_figures="Figs. 1 and 5",
        crops_text=(
            "The paper's Figs. 1 and 5 compare crops of the networks' outputs. Here: two crops of "
            "the first\ntest image, chosen on the reference by the region masks of "
            "`imgloss.metrics.regions`: the\nflattest window, where the paper sees "
            f"{_L2}'s splotches and the colour shifts of SSIM, and the\nwindow with the most "
            "edges, where it sees SSIM's noise halos. Every loss is shown on the same\ncrops, "
            "next to the noisy input and the reference. {numref}`fig-crops-demosaic` shows them."
        ),
        differences=(
            "The paper trains on 700 MIT-Adobe FiveK images and tests on 40 others; we train on "
            "the 399\nBSDS500 images and test on Kodak24 (and McMaster at the `paper` profile), so "
            "only the ranking of\nthe losses carries over, not the values. Our networks train for "
            "far fewer steps than the\npaper's (the profile says how many), and our BM3D column is "
            "a stand-in for the paper's\ncross-colour BM3D (VST, BM3D on the mosaic, DLMMSE "
            "demosaicking). The noisy input's PSNR depends on\nthe test images' brightness; the "
            "summary's noise analysis explains the gap to the paper's value.\nDetails: "
            "{doc}`/book/differences`."
        ),
    ),
    "sr": TaskPage(
        task="sr",
        title="Single-image super-resolution",
        name="super-resolution",
        intro=(
            "Section 4.2: SRCNN {cite:p}`dong2014srcnn` (9-1-5, PReLU instead of ReLU, on RGB) "
            "restores images downsampled by 3 with\nMATLAB's antialiased bicubic kernel and "
            "upsampled back bilinearly (the factor is not stated in the\npaper; we assume "
            "SRCNN's $\\times3$)."
        ),
        claims="the ranking of the losses for super-resolution",
        lower_is_better=r"$\ell_2$, $\ell_1$ and GMSD",
        paper_figures="Fig. 3",
        differences=(
            "The paper states neither its super-resolution factor nor its test images; we use "
            "SRCNN's ×3\n(bicubic down, bilinear up) and the standard benchmarks Set5, Set14, "
            "BSD100 and Urban100. Our\nnetworks train for far fewer steps than the paper's. "
            "Details: {doc}`/book/differences`."
        ),
    ),
    "jpeg": TaskPage(
        task="jpeg",
        title="JPEG artifact removal",
        name="JPEG artifact removal",
        intro=(
            "Section 4.3: the network removes the artifacts of JPEG compression at quality 25 "
            "(4:2:0 chroma),\ntrained on patches that are not aligned with the $8\\times8$ grid, "
            "as in the paper."
        ),
        claims=(
            "the ranking of the losses for JPEG artifact removal, and the collapse of MS-SSIM "
            "the paper reports"
        ),
        lower_is_better=r"$\ell_2$, $\ell_1$ and GMSD",
        paper_figures="Figs. 4 and 6",
        differences=(
            "The paper does not name its JPEG test images; we use LIVE1, Classic5 and Kodak24 at "
            "quality 25\nwith 4:2:0 chroma. Its MS-SSIM network collapses below the JPEG input; "
            "ours is trained for far\nfewer steps, so the claim is tested here but a converged "
            "run may behave differently. Details: {doc}`/book/differences`."
        ),
    ),
}


def get(task: str) -> TaskPage:
    """The page of ``task`` (``demosaic``, ``sr`` or ``jpeg``); a ``ValueError`` names the tasks
    for any other."""
    if task not in TASK_PAGES:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASK_PAGES)}")
    return TASK_PAGES[task]
