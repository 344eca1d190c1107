"""Pictures of the single-channel backward pass (notebook 03): impulse responses and the flip.

Every gradient drawn here comes from PyTorch's autograd (:mod:`course.reference`), never from a
formula of ours, so a picture cannot agree with a derivation by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import matplotlib.pyplot as plt
import numpy as np

from course import reference


def one_hot(shape: tuple[int, int], i: int, j: int) -> np.ndarray:
    """An upstream gradient that is 1 at ``(i, j)`` and 0 elsewhere."""
    dout = np.zeros(shape)
    dout[i, j] = 1.0
    return dout


def _panel(ax, a: np.ndarray, title: str, limit: float, box=None, color="tab:green",
           values: bool = True) -> None:
    """One map with its values written in, centred on zero; ``box = (top, left, h, w)``."""
    ax.imshow(a, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (r, c), v in np.ndenumerate(a if values else np.empty((0, 0))):
        ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=8,
                color="white" if abs(v) > 0.6 * limit else "black")
    if box is not None:
        top, left, h, w = box
        ax.add_patch(plt.Rectangle((left - 0.5, top - 0.5), w, h, fill=False, edgecolor=color,
                                   lw=3))
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def show_impulses(x: np.ndarray, w: np.ndarray, positions: Iterable[tuple[int, int]],
                  part: str) -> plt.Figure:
    """One row per position ``(i, j)``: a one-hot ``dout`` and the ``dw`` or ``dx`` it produces.

    ``part="dw"`` shows ``x`` with the window that output ``(i, j)`` read, and ``dw``;
    ``part="dx"`` shows ``dx`` with that window outlined.
    """
    positions = list(positions)
    KH, KW = w.shape
    HO, WO = x.shape[0] - KH + 1, x.shape[1] - KW + 1
    columns = 3 if part == "dw" else 2
    fig, axes = plt.subplots(len(positions), columns, figsize=(3.3 * columns, 3.1 * len(positions)),
                             squeeze=False)
    for row, (i, j) in zip(axes, positions, strict=True):
        dout = one_hot((HO, WO), i, j)
        dx, dw, _ = reference.conv2d_single_backward(dout, x, w)
        _panel(row[0], dout, f"dY: one-hot at ({i}, {j})", 1.0, (i, j, 1, 1), "tab:red")
        if part == "dw":
            limit = np.abs(x).max() or 1.0
            _panel(row[1], x, f"x: the window output ({i}, {j}) read", limit, (i, j, KH, KW))
            _panel(row[2], dw, "dW = that patch of x", limit)
        else:
            limit = np.abs(w).max() or 1.0
            _panel(row[1], dx, f"dX: w stamped into window ({i}, {j})", limit, (i, j, KH, KW))
    fig.tight_layout()
    return fig


def input_pixel_weights(w: np.ndarray, input_shape: tuple[int, int], p: int, q: int) -> np.ndarray:
    """How much each ``dout[i, j]`` contributes to ``dx[p, q]``, by autograd: ``(HO, WO)``."""
    KH, KW = w.shape
    HO, WO = input_shape[0] - KH + 1, input_shape[1] - KW + 1
    x = np.zeros(input_shape)
    return np.array([[reference.conv2d_single_backward(one_hot((HO, WO), i, j), x, w)[0][p, q]
                      for j in range(WO)] for i in range(HO)])


def show_gather(w: np.ndarray, input_shape: tuple[int, int],
                pixels: Iterable[tuple[int, int]]) -> plt.Figure:
    """For each input pixel ``(p, q)``: the weight of every ``dout`` entry in ``dx[p, q]``.

    The weights (colours, by autograd) are drawn on ``dout`` zero-padded by ``KH - 1`` rows and
    ``KW - 1`` columns; the real ``dout`` is outlined in dashed red. The green window at ``(p, q)``
    of the padded grid is where the rotated kernel sits: its entries are written in, in grey where
    they fall on the padding (multiplied by zero).
    """
    pixels = list(pixels)
    KH, KW = w.shape
    w_rot = w[::-1, ::-1]
    limit = np.abs(w).max() or 1.0
    fig, axes = plt.subplots(1, 2 + len(pixels), figsize=(3.3 * (2 + len(pixels)), 3.6))
    _panel(axes[0], w, "kernel w", limit)
    _panel(axes[1], w_rot, "w rotated by 180°", limit)
    for ax, (p, q) in zip(axes[2:], pixels, strict=True):
        weights = input_pixel_weights(w, input_shape, p, q)
        HO, WO = weights.shape
        padded = np.pad(weights, ((KH - 1, KH - 1), (KW - 1, KW - 1)))
        _panel(ax, padded, f"weight of each dY entry in dX[{p}, {q}]\n(on dY padded)", limit,
               (p, q, KH, KW), values=False)
        for a, b in np.ndindex(KH, KW):
            r, c = p + a, q + b
            inside = KH - 1 <= r < KH - 1 + HO and KW - 1 <= c < KW - 1 + WO
            value = padded[r, c] if inside else w_rot[a, b]
            ax.text(c, r, f"{value:g}", ha="center", va="center", fontsize=8,
                    color=("white" if abs(value) > 0.6 * limit else "black") if inside
                    else "darkgrey")
        ax.add_patch(plt.Rectangle((KW - 1.5, KH - 1.5), WO, HO, fill=False,
                                   edgecolor="tab:red", lw=2, ls="--"))
    fig.tight_layout()
    return fig


def show_candidates(numeric: np.ndarray, candidates: Mapping[str, np.ndarray],
                    title: str = "") -> plt.Figure:
    """Candidate gradients against a finite-difference one: right answers lie on the diagonal."""
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    limit = max(np.abs(numeric).max(), *(np.abs(c).max() for c in candidates.values())) * 1.1
    ax.plot([-limit, limit], [-limit, limit], color="grey", lw=1, zorder=0)
    for (name, candidate), marker in zip(candidates.items(), "os^vD", strict=False):
        ax.scatter(numeric.ravel(), np.asarray(candidate).ravel(), marker=marker, label=name,
                   alpha=0.8)
    ax.set_xlabel("finite differences (the truth)")
    ax.set_ylabel("candidate formula")
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.legend(fontsize=8, loc="upper left")
    if title:
        ax.set_title(title)
    return fig
