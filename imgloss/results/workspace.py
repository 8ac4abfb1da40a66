"""Where a command works: the results folder, the data and its source, the device, progress.

A :class:`Workspace` is resolved once, before anything runs (the command line does it from
``--results``, ``--root``, ``--device`` and ``--no-progress``), and passed down to everything
that trains, scores or writes results (``imgloss.experiments``) in place of loose arguments.
Resolving it resolves the data root into its data source (:func:`imgloss.data.source.resolve`),
so a data root that is set but unusable is refused there, once, with its
:class:`~imgloss.data.source.DataRootError`. It is frozen: a command that needs another setting
makes another workspace (``dataclasses.replace(ws, progress=False)``).

Library calls from scripts and notebooks may still give the keywords (``results=``, ``root=``,
``device=``, ``progress=``; ``source=`` where the source is known): :meth:`Workspace.of` turns
them into a workspace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgloss.data.registry import ENV_VAR
from imgloss.data.source import DataSource, resolve
from imgloss.results.records import SourceFolder, folder_for

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Workspace:
    """The results folder, the data (its root and resolved source), the device, progress."""

    results: Path
    source: DataSource
    #: The data root the source was resolved from (``--root``, else ``$IMGLOSS_DATA_ROOT``);
    #: ``None``: no data root, the photographs embedded in scikit-image.
    root: Path | None = None
    #: As given (``cpu``, ``cuda``, ``cuda:N``, ``mps``); ``None``: CUDA if available, else the
    #: CPU. Checked where a run starts (:meth:`torch_device`), so that listing runs needs none.
    device: str | None = None
    #: Progress bars and per-run lines (``--no-progress``: none, for logs).
    progress: bool = True

    @classmethod
    def resolve(
        cls,
        results: str | os.PathLike = "results",
        root: str | os.PathLike | None = None,
        *,
        device: Any = None,
        progress: bool = True,
        source: DataSource | None = None,
    ) -> Workspace:
        """The workspace of the results folder ``results`` and the data root ``root`` (else
        ``$IMGLOSS_DATA_ROOT``; neither: the embedded photographs). ``source``: the data
        source when it is known already, else resolved from the root: a data root that is
        set but cannot be used raises :class:`~imgloss.data.source.DataRootError`, which names
        it and the fix.
        """
        given = root if root is not None else os.environ.get(ENV_VAR)
        if source is None:
            source = resolve(root)
        return cls(
            results=Path(results),
            source=source,
            root=Path(given) if given else None,
            device=None if device is None else str(device),
            progress=progress,
        )

    @classmethod
    def of(cls, ws: Workspace | None = None, /, **where: Any) -> Workspace:
        """``ws``, else the workspace of the keywords of :meth:`resolve` (a library call that
        gives ``results=``, ``root=``, ... instead of a workspace)."""
        if ws is None:
            return cls.resolve(**where)
        if where:
            raise TypeError(f"give a workspace or its keywords, not both ({', '.join(where)})")
        return ws

    @property
    def folder(self) -> SourceFolder:
        """``<results>/<source>/``: the results made on this data."""
        return SourceFolder(self.results, self.source.tag)

    def register(self) -> SourceFolder:
        """:attr:`folder`, with its ``source.json`` written where it is missing (before the
        first results file is written there)."""
        return folder_for(self.results, self.source)

    def torch_device(self) -> torch.device:
        """:attr:`device` as a ``torch.device``; a device that is not there is an
        :class:`~imgloss.core.errors.InputError` saying what to pass."""
        from imgloss.training.trainer import pick_device

        return pick_device(self.device)
