"""Pictures for notebook 08: where a pool's gradient goes, and why a tie is a kink."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:brown")


def show_routing(x: np.ndarray, window: tuple[int, int], stride: int,
                 maps: Mapping[str, np.ndarray], title: str = "") -> plt.Figure:
    """``x (H, W)`` with every pool window outlined, beside 2-D maps shaped like ``x`` (the
    gradients), values written in each cell; a map's zeros are left blank."""
    (KH, KW), (H, W) = window, x.shape
    HO, WO = (H - KH) // stride + 1, (W - KW) // stride + 1
    fig, axes = plt.subplots(1, 1 + len(maps), figsize=(3.6 * (1 + len(maps)), 3.8),
                             layout="constrained", squeeze=False)
    axes = axes[0]
    panels = {"x, windows outlined": x, **maps}
    limit = max((float(np.abs(m).max()) for m in maps.values()), default=1.0) or 1.0
    for ax, (name, a) in zip(axes, panels.items(), strict=True):
        if name == "x, windows outlined":
            ax.imshow(a, cmap="Greys", alpha=0.35)
        else:
            ax.imshow(a, cmap="RdBu_r", vmin=-limit, vmax=limit)
        for (i, j), v in np.ndenumerate(a):
            if v != 0 or name == "x, windows outlined":
                ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for k, (i, j) in enumerate(np.ndindex(HO, WO)):
        inset = 0.08 * (k % 3)  # overlapping windows drawn slightly apart
        axes[0].add_patch(plt.Rectangle((j * stride - 0.5 + inset, i * stride - 0.5 + inset),
                                        KW - 2 * inset, KH - 2 * inset, fill=False, lw=2,
                                        edgecolor=COLOURS[k % len(COLOURS)]))
    if title:
        fig.suptitle(title)
    return fig


def show_tie_kink(dout: float = 1.0, eps: float = 0.5) -> plt.Figure:
    """``L(t) = dout * max(x1 + t, x2)`` near a tie ``x1 = x2 = 0``: slope ``dout`` for ``t > 0``,
    0 for ``t < 0``; the central difference at the tie measures the chord, ``dout / 2``."""
    t = np.linspace(-1.5, 1.5, 301)
    loss = dout * np.maximum(t, 0.0)
    chord = (dout * max(eps, 0.0) - dout * max(-eps, 0.0)) / (2 * eps)
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    ax.plot(t, loss, color="black", label="L(t) = dout * max(x[0] + t, x[1]), x[0] = x[1]")
    ax.plot(t, dout * t, color="tab:green", ls="--",
            label=f"autograd at the tie: x[0] comes first, slope {dout:g}")
    ax.plot(t, 0 * t, color="tab:orange", ls=":", label="the other side's slope, 0")
    ax.plot([-eps, eps], [0.0, dout * eps], color="tab:red", marker="o",
            label=f"central difference, eps = {eps:g}: slope {chord:g}")
    ax.set(xlabel="t (a step along x[0])", ylabel="loss",
           title="at a tie, max has two slopes: a kink")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def show_loss_curve(losses: Mapping[str, np.ndarray], bar: float | None = None) -> plt.Figure:
    """Training loss per step (log scale), one line per run."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
    for name, curve in losses.items():
        ax.semilogy(np.arange(len(curve)), curve, label=name)
    if bar is not None:
        ax.axhline(bar, color="grey", ls=":", label=f"the test's bar, {bar:g}")
    ax.set(xlabel="SGD step", ylabel="mean cross-entropy (log scale)",
           title="overfitting a small batch: the loss falls towards zero")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return fig
