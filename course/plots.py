"""Pictures for the notebooks: feature maps, kernels and error heatmaps.

Signed maps use a diverging colour map centred on zero with one colour scale per figure, so that
panels can be compared by eye (per-panel rescaling makes different maps look alike).
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np


def show_maps(maps: Mapping[str, np.ndarray], title: str | None = None, values: bool = False,
              shared_scale: bool = True, cmap: str = "RdBu_r") -> plt.Figure:
    """Show 2-D arrays side by side, centred on zero; ``values=True`` writes each entry in its cell.

    Signed data gets a scale symmetric about zero; data with no negative entry starts at zero.
    """
    arrays = {name: np.asarray(a, dtype=float) for name, a in maps.items()}
    signed = any(a.min(initial=0.0) < 0 for a in arrays.values())
    fig, axes = plt.subplots(1, len(arrays), figsize=(3.2 * len(arrays), 3.4), squeeze=False)
    common = max((np.abs(a).max(initial=0.0) for a in arrays.values()), default=1.0) or 1.0
    for ax, (name, a) in zip(axes[0], arrays.items(), strict=True):
        limit = common if shared_scale else (np.abs(a).max(initial=0.0) or 1.0)
        image = ax.imshow(a, cmap=cmap, vmin=-limit if signed else 0.0, vmax=limit)
        ax.set_title(f"{name}\n{a.shape[0]}x{a.shape[1]}")
        ax.set_xticks([])
        ax.set_yticks([])
        if values:
            for (i, j), v in np.ndenumerate(a):
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=8)
        if not shared_scale:
            fig.colorbar(image, ax=ax, shrink=0.7)
    if shared_scale:
        fig.colorbar(image, ax=axes[0].tolist(), shrink=0.7)
    if title:
        fig.suptitle(title)
    return fig


def show_error(got: np.ndarray, expected: np.ndarray, title: str = "") -> plt.Figure:
    """Expected, got and their difference on one colour scale: where does a wrong answer differ?"""
    return show_maps({"expected": expected, "yours": got, "yours - expected": got - expected},
                     title=title)


def show_sliding_window(x: np.ndarray, kh: int, kw: int, row: int, col: int,
                        stride: int = 1) -> plt.Figure:
    """Draw the input with the window that produces output pixel ``(row, col)`` outlined."""
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(x, cmap="Greys", vmin=np.min(x), vmax=np.max(x) or 1.0)
    top, left = row * stride - 0.5, col * stride - 0.5
    ax.add_patch(plt.Rectangle((left, top), kw, kh, fill=False, edgecolor="tab:red", lw=3))
    for (i, j), v in np.ndenumerate(x):
        ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=8, color="tab:blue")
    ax.set_title(f"window for output ({row}, {col}), stride {stride}")
    ax.set_xticks([])
    ax.set_yticks([])
    return fig
