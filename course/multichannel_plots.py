"""Pictures and measurements for notebook 05: tables of maps, one per (filter, channel) pair.

A *table* is a grid of panels; panels of the same ``group`` share one colour scale (symmetric
about zero, white at 0, for a diverging colour map), and a panel with ``group=None`` gets its own
min-to-max scale, as ``plt.imshow`` does by default. Every gradient drawn comes from PyTorch
(:mod:`course.reference`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from course import reference

DIVERGING = {"RdBu_r", "RdBu", "coolwarm", "bwr", "seismic"}  # centred on zero: white is 0


@dataclass
class Panel:
    """One map in a table: its title, its colour-scale group and optional outlined boxes."""

    title: str
    data: np.ndarray
    group: str | None = "maps"
    cmap: str = "RdBu_r"
    boxes: Sequence[tuple[int, int, int, int, str]] = ()  # (top, left, height, width, colour)


def show_table(rows: Sequence[Sequence[Panel | None]], title: str | None = None,
               size: float = 1.9, colorbar: str | None = None) -> plt.Figure:
    """Draw panels in a grid; ``None`` leaves a cell empty.

    ``colorbar="each"`` gives every panel its own colour bar, ``"shared"`` draws one for the whole
    figure (meaningful when all panels share one group).
    """
    n_rows, n_cols = len(rows), max(len(row) for row in rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(size * n_cols + 0.6 * bool(colorbar),
                                                      size * n_rows + 0.5),
                             squeeze=False, layout="constrained")
    limits: dict[str, tuple[float, float]] = {}
    for panel in (p for row in rows for p in row if p is not None and p.group is not None):
        low, high = limits.get(panel.group, (np.inf, -np.inf))
        limits[panel.group] = (min(low, float(panel.data.min())),
                               max(high, float(panel.data.max())))
    image = None
    for ax_row, row in zip(axes, rows, strict=True):
        for ax, panel in zip(ax_row, list(row) + [None] * (n_cols - len(row)), strict=True):
            ax.set_xticks([])
            ax.set_yticks([])
            if panel is None:
                ax.axis("off")
                continue
            if panel.group is None:  # imshow's default: this panel's own min and max
                vmin, vmax = float(panel.data.min()), float(panel.data.max())
            else:
                vmin, vmax = limits[panel.group]
            if panel.cmap in DIVERGING:
                vmax = max(abs(vmin), abs(vmax)) or 1.0
                vmin = -vmax
            image = ax.imshow(panel.data, cmap=panel.cmap, vmin=vmin, vmax=vmax)
            for top, left, height, width, colour in panel.boxes:
                ax.add_patch(plt.Rectangle((left - 0.5, top - 0.5), width, height, fill=False,
                                           edgecolor=colour, lw=2))
            ax.set_title(panel.title, fontsize=9)
            if colorbar == "each":
                fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03).ax.tick_params(labelsize=7)
    if colorbar == "shared" and image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6).ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title)
    return fig


def dx_contributions(dout: np.ndarray, x: np.ndarray, w: np.ndarray, n: int = 0,
                     stride: int = 1, pad: int = 0) -> np.ndarray:
    """What each filter sends back to each input channel of example ``n``: ``(F, C, H, W)``.

    Entry ``[f, c]`` is autograd's ``dx[n, c]`` when only filter ``f`` is kept; summed over ``f``
    it is the whole ``dx[n, c]``.
    """
    return np.stack([reference.conv2d_backward(dout[n:n + 1, f:f + 1], x[n:n + 1], w[f:f + 1],
                                               stride, pad)[0][0] for f in range(w.shape[0])])


def weight_gradient(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``dW[f, c] = sum over n of X[n, c] ⋆ dY[n, f]`` (stride 1, no padding), ``(F, C, KH, KW)``.

    One PyTorch forward cross-correlation with the batch and channel axes swapped: ``x`` becomes
    C images of N channels, ``dout`` F kernels of N channels. The same numbers as autograd
    (tests/test_multichannel_checks.py), several times faster for large kernels.
    """
    return reference.conv2d(x.transpose(1, 0, 2, 3), dout.transpose(1, 0, 2, 3)
                            ).transpose(1, 0, 2, 3)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two maps, entry by entry (1: the same pattern, 0: unrelated)."""
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def cross_channel_correlation(maps: np.ndarray) -> float:
    """Mean correlation between ``maps[f, c]`` and ``maps[f, c']`` over filters and pairs c < c'."""
    F, C = maps.shape[:2]
    return float(np.mean([correlation(maps[f, c], maps[f, d])
                          for f in range(F) for c in range(C) for d in range(c + 1, C)]))
