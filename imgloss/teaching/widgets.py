"""Sliders over precomputed results that work live in JupyterLab *and* in the static HTML book.

The static book has no kernel, so a slider cannot call Python. :func:`precomputed_slider` puts
every precomputed view (images, HTML) into an ``ipywidgets.Stack`` and links the slider's index
to the stack's ``selected_index`` with ``ipywidgets.jslink``: the link runs in the browser, both in
JupyterLab and in the page rendered from the saved widget state, so dragging the slider switches
the view with no kernel.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from imgloss.imaging.convert import to_uint8


def png(image, *, scale: int = 1) -> bytes:
    """PNG bytes of an image (see :func:`imgloss.imaging.convert.to_uint8`), enlarged ``scale``
    times (nearest)."""
    from PIL import Image

    arr = to_uint8(image)
    img = Image.fromarray(arr)
    if scale != 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def image_row(images: dict[str, object], *, scale: int = 2):
    """Labelled images side by side (an ``HBox`` of ``VBox(label, image)``)."""
    import ipywidgets as w

    boxes = []
    for label, image in images.items():
        data = image if isinstance(image, bytes) else png(image, scale=scale)
        boxes.append(
            w.VBox(
                [w.HTML(f"<b>{label}</b>"), w.Image(value=data, format="png")],
                layout=w.Layout(margin="0 6px 0 0"),
            )
        )
    return w.HBox(boxes)


def precomputed_slider(
    labels: Sequence[str], views: Sequence, *, description: str, initial: int = 0
):
    """A slider over ``labels`` that shows ``views[i]`` (widgets) for the selected label.

    Returns a ``VBox(slider, stack)``; the slider's ``index`` is ``jslink``-ed to the stack
    (the link widget is kept as the box's ``link`` attribute).
    """
    import ipywidgets as w

    if len(labels) != len(views) or not labels:
        raise ValueError(
            f"labels and views must be non-empty and of equal length, got {len(labels)} and "
            f"{len(views)}"
        )
    if not 0 <= initial < len(labels):
        raise ValueError(f"initial must index labels (0..{len(labels) - 1}), got {initial}")
    slider = w.SelectionSlider(
        options=list(labels),
        value=labels[initial],
        description=description,
        continuous_update=True,
        style={"description_width": "initial"},
        layout=w.Layout(width="420px"),
    )
    stack = w.Stack(list(views), selected_index=initial)
    link = w.jslink((slider, "index"), (stack, "selected_index"))
    box = w.VBox([slider, stack])
    box.link = link
    return box


def column(children: Sequence):
    """Widgets stacked vertically (an ``ipywidgets.VBox``)."""
    import ipywidgets as w

    return w.VBox(list(children))


def html(text: str):
    """An HTML snippet as a widget (for text that changes with a slider)."""
    import ipywidgets as w

    return w.HTML(text)
