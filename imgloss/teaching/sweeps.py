"""The interactive sweeps of SSIM's sigma_G and Mix's alpha, each on one crop of a test image.

For one setting (a sigma_G of SSIM, an alpha of Mix) a :class:`SweepView` shows, on the *same*
crop and at the same size:

* the **loss map**: the per-pixel loss of the noisy input against the reference
  (:func:`imgloss.teaching.maps.loss_map`), whose mean over the crop is the loss;
* the **gradient map**: ``dL/dx`` of that mean loss with respect to the input, summed over the
  colour channels: where, and in which direction, training with this loss pushes the output
  (red raises the pixel's value, blue lowers it);
* the **network** trained with that setting on the same crop (the run's saved figure crop), with
  the PSNR of the crop and the run's measures on the whole test set.

The crop is the first figure crop of the runs (the flattest window of the first test image,
:mod:`imgloss.experiments.crops`). Its loss and gradient are computed on the crop enlarged by the
largest window's radius, so that every pixel of the crop has its full window (no border is
invented), and then cut back to the crop. :func:`build` precomputes every setting for the static
book (:func:`imgloss.teaching.widgets.precomputed_slider` switches between them without a kernel);
in JupyterLab, :func:`image_chooser` recomputes the maps for any test image or uploaded file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch

from imgloss.design.experiments import PROFILES
from imgloss.experiments.crops import CONTEXT, with_context  # noqa: F401 (CONTEXT re-exported)
from imgloss.functional.options import PAPER_SIGMAS
from imgloss.report import style
from imgloss.teaching import maps


@dataclass(frozen=True)
class Setting:
    """One position of a sweep: its label, the loss (name and options) and the run's label."""

    label: str  # plain text, for the slider
    math: str  # the same in mathtext, for the panels' titles
    loss: str
    options: tuple[tuple[str, float], ...]
    run: str


@dataclass
class SweepView:
    """What one setting shows: the maps on the crop and the trained network's crop."""

    setting: Setting
    loss_map: np.ndarray  # (h, w)
    gradient: np.ndarray  # (h, w), signed
    output: np.ndarray | None  # (h, w, 3) uint8, the network's crop (None: not trained here)
    caption: str  # the network's measures


def sigma_settings(sigmas=(1, 3, 5, 9)) -> list[Setting]:
    """SSIM with each ``sigma_G`` (the Fig. 8 runs ``ssimK``)."""
    return [
        Setting(f"σ = {s:g}", rf"$\sigma_G$ = {s:g}", f"ssim{s:g}", (), f"ssim{s:g}")
        for s in sigmas
    ]


def alpha_settings(alphas=(0.0, 0.25, 0.5, 0.84, 1.0)) -> list[Setting]:
    """Mix with each ``alpha`` (the alpha sweep's runs; 0.84 is the paper's ``mix``)."""
    from imgloss.design.experiments import spec

    return [
        Setting(
            f"α = {a:g}",
            rf"$\alpha$ = {a:g}",
            "mix",
            (("alpha", a),),
            spec("demosaic", ("mix", {"alpha": a})).label,
        )  # the run's one label
        for a in alphas
    ]


def crops_with_context(x: torch.Tensor, y: torch.Tensor, box):
    """The input (clipped to ``[0, 1]``) and the reference cut at ``box`` with their context,
    and the crop's slices inside them (:func:`imgloss.experiments.crops.with_context`)."""
    xc, inner = with_context(x.clamp(0, 1), box)
    yc, _ = with_context(y, box)
    return xc, yc, inner


def loss_and_gradient(setting: Setting, x: torch.Tensor, y: torch.Tensor, inner):
    """The loss map of the noisy input ``x`` against the reference ``y`` (both the crop with its
    context) on the crop, and the gradient of its mean with respect to ``x``, summed over the
    channels: two ``(h, w)`` arrays."""
    xg = x.detach().double().clone().requires_grad_(True)
    options = dict(setting.options)
    full = maps.loss_map(setting.loss, xg, y.double(), sigmas=PAPER_SIGMAS, **options)
    rows, cols = inner
    top = (x.shape[-2] - full.shape[-2]) // 2  # the map lost `top` pixels per side (valid)
    crop = full[..., rows.start - top : rows.stop - top, cols.start - top : cols.stop - top]
    crop.mean().backward()
    assert xg.grad is not None
    gradient = xg.grad[0, :, rows, cols].sum(0)
    return crop[0].mean(0).detach().numpy(), gradient.numpy()


def panel(image: np.ndarray, *, title: str, kind: str, limit: float | None = None) -> bytes:
    """One sweep panel as PNG bytes, always the same size: an RGB crop (``kind="rgb"``), a loss
    map from zero (``"error"``) or a signed map around zero (``"signed"``), the maps with a
    colour bar (RGB panels keep the bar's room empty, so every panel lines up)."""
    from matplotlib.figure import Figure

    with style.context():
        fig = Figure(figsize=(2.6, 2.5))
        ax = fig.add_axes((0.02, 0.04, 0.74, 0.78))
        style.image_axes(ax)
        ax.set_title(title, fontsize=8)
        if kind == "rgb":
            ax.imshow(image)
        else:
            cmap = style.ERROR_CMAP if kind == "error" else style.SIGNED_CMAP
            low = 0.0 if kind == "error" else -(limit or 1.0)
            shown = ax.imshow(image, cmap=cmap, vmin=low, vmax=limit or float(np.max(image)))
            bar = fig.colorbar(shown, cax=fig.add_axes((0.79, 0.04, 0.04, 0.78)))
            bar.ax.tick_params(labelsize=6)
            bar.set_label(
                "per-pixel loss" if kind == "error" else "dL/dx (summed over RGB)", fontsize=6
            )
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, bbox_inches=fig.bbox_inches)  # never "tight"
    return buf.getvalue()


def view_widget(view: SweepView, *, loss_limit: float, gradient_limit: float):
    """The widgets of one setting: three panels of one size side by side, and the measures."""
    from imgloss.teaching import widgets

    s = view.setting
    row: dict[str, object] = {
        "loss map": panel(
            view.loss_map, title=f"loss map, {s.math}", kind="error", limit=loss_limit
        ),
        "gradient": panel(
            view.gradient, title=f"gradient, {s.math}", kind="signed", limit=gradient_limit
        ),
    }
    if view.output is not None:
        row["network"] = panel(view.output, title=f"trained with {s.math}", kind="rgb")
    return widgets.column([widgets.image_row(row), widgets.html(f"<p>{view.caption}</p>")])


def compute(
    settings: list[Setting], x: torch.Tensor, y: torch.Tensor, inner, outputs: dict, captions: dict
) -> list[SweepView]:
    """A :class:`SweepView` per setting for the crop ``inner`` of ``(x, y)`` (with context);
    ``outputs``/``captions`` give each run's network crop and measures by run label."""
    out = []
    for s in settings:
        loss_map, gradient = loss_and_gradient(s, x, y, inner)
        out.append(SweepView(s, loss_map, gradient, outputs.get(s.run), captions.get(s.run, "")))
    return out


def widgets_of(views: list[SweepView], *, description: str, initial: int = 0):
    """The slider over the precomputed views (one colour scale per sweep for each kind of map,
    so that moving the slider compares like with like)."""
    from imgloss.teaching import widgets

    loss_limit = max(float(np.percentile(v.loss_map, 99)) for v in views) or 1.0
    gradient_limit = max(float(np.percentile(np.abs(v.gradient), 99)) for v in views) or 1.0
    return widgets.precomputed_slider(
        [v.setting.label for v in views],
        [view_widget(v, loss_limit=loss_limit, gradient_limit=gradient_limit) for v in views],
        description=description,
        initial=initial,
    )


def _schedule(setting: Setting):
    """The :func:`imgloss.design.experiments.spec` spelling of a setting's run."""
    alpha = dict(setting.options).get("alpha")
    return (setting.loss, {"alpha": alpha}) if alpha not in (None, 0.84) else setting.loss


def build(view, settings: list[Setting], experiment: str, *, root=None, seed: int = 0):
    """The precomputed views of a sweep on the view's first figure crop: ``(views, note)``.

    Uses the runs of ``experiment`` (``fig8`` or ``alpha``) of ``view`` for the networks' crops and
    measures. The maps are computed on the runs' test crop, cut from the test data, or read from the
    crops committed beside the results (:mod:`imgloss.experiments.figure_inputs`, 8-bit) where the
    data is not at hand. Without either, they are computed on an embedded photograph and the
    networks are left out, which ``note`` says.
    """
    from imgloss.report import figures

    sets = figures.crop_sets(
        view, "demosaic", [_schedule(s) for s in settings], seed=seed, root=root, with_input=False
    )
    captions = _captions(view, settings, experiment, seed)
    crop = _test_crop(view, sets, root)
    if crop is not None:
        xc, yc, inner, where = crop
        outputs = {s.run: sets.crops[0].get(s.run) for s in settings}
        note = f"{sets.dataset} / {sets.image}, the {sets.regions[0]} of the figures (seed {seed}){where}."
    else:
        pair = figures.sample_pair("demosaic", 160, root=root, seed=seed)
        x, y = pair["input"], pair["target"]
        side = PROFILES[view.profile].crop_size
        top = (y.shape[-2] - side) // 2
        xc, yc, inner = crops_with_context(
            x, y, (..., slice(top, top + side), slice(top, top + side))
        )
        outputs = {}
        note = (
            f"{pair['dataset']} / {pair['image']} ({pair['source']}): "
            f"{_why_not_on_the_test_image(sets, view.profile, seed)}, so the maps are "
            "computed on this photograph and the networks are not shown."
        )
    return compute(settings, xc, yc, inner, outputs, captions), note


def _captions(view, settings: list[Setting], experiment: str, seed: int) -> dict[str, str]:
    """Each setting's network measures on the whole test set (or why it has none)."""
    from imgloss.report import tables as report

    summary = view.summary(experiment)
    dataset = (summary.datasets("demosaic") or [None])[0] if summary else None
    captions = {}
    for s in settings:
        cells = summary.measures("demosaic", s.run, dataset) if dataset else None
        text = report.measures_text(cells) if cells else ""
        captions[s.run] = (
            f"The network trained with {s.label}, on the whole test set: {text}"
            if text
            else _not_trained(s, view.profile, seed)
        )
    return captions


def _test_crop(view, sets, root):
    """The runs' first figure crop with its context, ``(input, reference, inner, where)``: cut
    from the test data, else the committed 8-bit crops (``where`` says so); ``None`` without
    either."""
    from imgloss.design.tasks import to_tensor
    from imgloss.experiments.crops import figure_boxes, test_image
    from imgloss.report import figures

    if sets.image is None or "reference" not in sets.labels:
        return None
    if sets.unavailable is None:
        profile = PROFILES[view.profile]
        x, y = test_image("demosaic", profile, sets.dataset, sets.image, root)
        return (*crops_with_context(x, y, figure_boxes(y, profile)[0]), "")
    stored = figures.committed_inputs(view, "demosaic", sets.dataset, sets.image)
    assert stored is not None  # crop_sets found them, or "reference" would not be a label
    c = stored.context
    inner = (slice(c, c + stored.size), slice(c, c + stored.size))
    x, y = (
        to_tensor(stored.with_context(0, kind), dtype=torch.float64)
        for kind in ("input", "reference")
    )
    return x, y, inner, "; from the committed 8-bit crops, as the data is not at hand here"


def _not_trained(setting: Setting, profile: str, seed: int) -> str:
    return f"No network was trained with {setting.label} at the {profile} profile (seed {seed})."


def _why_not_on_the_test_image(sets, profile: str, seed: int) -> str:
    """Why the sweep cannot show the runs' test crop: no run of the sweep has finished at this
    profile, or its test image cannot be read here and no crops of it are committed (no data
    root, or the dataset is not under it: the reason :func:`imgloss.report.figures.crop_sets`
    recorded)."""
    if sets.image is None:
        return f"no network of this sweep has finished at the {profile} profile (seed {seed})"
    where = f"{sets.dataset}/{sets.image}"
    return (
        f"the runs' test image {where} is not readable here ({sets.unavailable or 'unavailable'})"
    )


# ------------------------------------------------------------------- live, with a kernel only
def _network_crop(view, setting: Setting, x: torch.Tensor, box, seed: int):
    """The network trained with ``setting`` run on ``x`` and cut to ``box``: ``(crop, None)``,
    or ``(None, why)`` when it cannot run here (not trained at this profile, or its run folder
    holds no weights)."""
    from imgloss.experiments.runner import finished_record, run_weights
    from imgloss.teaching import widgets
    from imgloss.training import models
    from imgloss.training.weights import weights_file

    folder = view.run_folder("demosaic", setting.run, seed)
    if folder is None:
        return None, _not_trained(setting, view.profile, seed)
    weights = weights_file(folder)
    if weights is None:
        return None, (
            f"The network trained with {setting.label} cannot run here: its run folder "
            f"{folder.name} holds no weights (model.safetensors), which runs made before weights "
            "were committed lack; retrain it with `imgloss run` to see it."
        )
    net = models.for_task("demosaic")
    net.load_state_dict(run_weights(folder, finished_record(folder)))
    net.eval()
    return widgets.to_uint8(net.predict(x).clamp(0, 1)[box]), None


def for_image(view, settings: list[Setting], clean: torch.Tensor, name: str, *, seed: int = 0):
    """The views of a sweep on any clean image ``(1, 3, H, W)`` in ``[0, 1]``: corrupted as a
    demosaicking test input (seeded by ``name``), cut at its flattest window; the networks are
    run where their weights are present, and the caption says why where they are not."""
    from imgloss.design import tasks
    from imgloss.design.experiments import PROFILES
    from imgloss.experiments.crops import figure_boxes

    profile = PROFILES[view.profile]
    x, y = tasks.get("demosaic").test_pair(clean, seed=seed, dataset="chosen", image=name)
    box = figure_boxes(y, profile)[0]
    outputs, captions = {}, {}
    for s in settings:
        outputs[s.run], why = _network_crop(view, s, x, box, seed)
        captions[s.run] = f"{name}: {why or f'the network trained with {s.label}.'}"
    xc, yc, inner = crops_with_context(x, y, box)
    return compute(settings, xc, yc, inner, outputs, captions)


def image_chooser(view, settings: list[Setting], *, description: str, root=None, seed: int = 0):
    """JupyterLab only (the callbacks need a kernel): choose a test image or upload one, and
    the sweep below is recomputed for it. The static book shows :func:`build`'s views instead."""
    import ipywidgets as w
    from IPython.display import display

    from imgloss.data import DatasetError, load_images
    from imgloss.data.source import resolve
    from imgloss.design import tasks

    try:
        dataset = resolve(root).test_sets(tasks.get("demosaic"))[0]
        images = dict(load_images(dataset, root)[0])
    except (DatasetError, ValueError, IndexError):
        images = {}
    choice = w.Dropdown(options=sorted(images), description="test image")
    upload = w.FileUpload(accept="image/*", multiple=False, description="or upload")
    out = w.Output()

    def show(clean: torch.Tensor, name: str) -> None:
        with out:
            out.clear_output(wait=True)
            display(
                widgets_of(
                    for_image(view, settings, clean, name, seed=seed), description=description
                )
            )

    def chosen(change) -> None:
        from imgloss.design.tasks import to_tensor

        show(to_tensor(images[change["new"]]), change["new"])

    def uploaded(change) -> None:
        from PIL import Image

        from imgloss.data.image_files import pillow_rgb

        item = change["new"][0]
        try:
            with Image.open(io.BytesIO(bytes(item["content"]))) as img:
                arr = pillow_rgb(img, item["name"])
        except (OSError, ValueError, Image.DecompressionBombError) as err:
            with out:
                print(f"cannot read {item['name']}: {err}")
            return
        show(tasks.to_tensor(arr), item["name"])

    choice.observe(chosen, names="value")
    upload.observe(uploaded, names="value")
    return w.VBox([w.HBox([choice, upload]), out])
