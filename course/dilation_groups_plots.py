"""Pictures for notebook 09: zeros in the kernel (dilation) next to zeros in dY (stride), the
block-diagonal filter-by-channel table of groups, and the convolution as a matrix.

Every gradient drawn comes from PyTorch's autograd (:mod:`course.dilation_groups_reference`).
"""

from __future__ import annotations

from collections.abc import Iterable

import matplotlib.pyplot as plt
import numpy as np

from course import dilation_groups_reference as ref
from course.backward_plots import _panel, one_hot
from course.stride_pad_plots import dilate


def dilated_kernel(w: np.ndarray, dilation: int) -> np.ndarray:
    """``w (..., KH, KW)`` with ``dilation - 1`` zeros between taps:
    ``(..., (KH - 1) dilation + 1, (KW - 1) dilation + 1)``."""
    KH, KW = w.shape[-2:]
    spread = np.zeros((*w.shape[:-2], (KH - 1) * dilation + 1, (KW - 1) * dilation + 1))
    spread[..., ::dilation, ::dilation] = w
    return spread


def show_zeros_in_kernel_and_in_dy(x_shape: tuple[int, int], w: np.ndarray,
                                   position: tuple[int, int],
                                   settings: Iterable[tuple[int, int]]) -> plt.Figure:
    """One row per ``(stride, dilation)``: the kernel dilated (zeros in W), a one-hot ``dY`` at
    ``position`` dilated by the stride (zeros in dY), and autograd's ``dX``: the dilated kernel,
    upright, stamped where that output's window sits. No padding."""
    settings = list(settings)
    KH, KW = w.shape
    i, j = position
    limit = np.abs(w).max() or 1.0
    fig, axes = plt.subplots(len(settings), 3, figsize=(11, 3.3 * len(settings)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1.2, 1.5]})
    for row, (stride, dilation) in zip(axes, settings, strict=True):
        w_dil = dilated_kernel(w, dilation)
        HO, WO = ((n - k) // stride + 1 for n, k in zip(x_shape, w_dil.shape, strict=True))
        dx = ref.conv2d_backward(one_hot((HO, WO), i, j)[None, None], np.zeros((1, 1, *x_shape)),
                                 w[None, None], stride, 0, dilation)[0][0, 0]
        _panel(row[0], w_dil, f"dilation {dilation}: W with {dilation - 1} zero(s)\nbetween "
               f"taps ({w_dil.shape[0]}x{w_dil.shape[1]})", limit)
        dy_dil = dilate(one_hot((HO, WO), i, j), stride)
        _panel(row[1], dy_dil, f"stride {stride}: dY ({HO}x{WO}) one-hot at ({i}, {j}),\n"
               f"dilated with {stride - 1} zero(s) ({dy_dil.shape[0]}x{dy_dil.shape[1]})", 1.0,
               (i * stride, j * stride, 1, 1), "tab:red")
        _panel(row[2], dx, f"dX ({x_shape[0]}x{x_shape[1]}): the dilated W stamped\nat "
               f"({i}·{stride}, {j}·{stride}), taps {dilation} apart", limit,
               (i * stride, j * stride, *w_dil.shape))
    fig.tight_layout()
    return fig


def show_group_blocks(F: int, C: int, groups_list: Iterable[int]) -> plt.Figure:
    """For each ``groups``: the ``F x C`` table of filter-channel pairs that are weights
    (coloured by group) and those that are not (white), with the parameter count."""
    groups_list = list(groups_list)
    fig, axes = plt.subplots(1, len(groups_list), figsize=(3.3 * len(groups_list), 3.6),
                             squeeze=False)
    for ax, groups in zip(axes[0], groups_list, strict=True):
        Fg, Cg = F // groups, C // groups
        table = np.full((F, C), np.nan)
        for g in range(groups):
            table[g * Fg:(g + 1) * Fg, g * Cg:(g + 1) * Cg] = g
        ax.imshow(table, cmap="tab10", vmin=0, vmax=10)
        ax.set_xticks(range(C))
        ax.set_yticks(range(F))
        ax.set_xticks(np.arange(C + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(F + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="lightgray")
        ax.tick_params(which="minor", length=0)
        ax.set_xlabel("input channel c")
        ax.set_ylabel("filter f")
        name = " (depthwise)" if groups == C else ""
        ax.set_title(f"groups = {groups}{name}\nw ({F}, {Cg}, KH, KW): {F * Cg} of {F * C} "
                     "pairs", fontsize=10)
    fig.tight_layout()
    return fig


def show_conv_matrix(A: np.ndarray, x_shape: tuple[int, int], y_shape: tuple[int, int]
                     ) -> plt.Figure:
    """The convolution as a matrix ``A (HO*WO, H*W)`` and its transpose, values written in."""
    limit = np.abs(A).max() or 1.0
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2),
                             gridspec_kw={"width_ratios": [A.shape[1], A.shape[0] + 2]})
    for ax, matrix, title in [
            (axes[0], A, f"A: conv as a matrix, x ({x_shape[0]}x{x_shape[1]}) flattened -> "
                         f"y ({y_shape[0]}x{y_shape[1]})\nrow k: the kernel laid out where "
                         "output k's window sits"),
            (axes[1], A.T, "Aᵀ: the transposed convolution\ncolumn k: the same kernel, "
                           "scattered back")]:
        ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit)
        for (r, c), v in np.ndenumerate(matrix):
            if v:
                ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=7)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("column")
        ax.set_ylabel("row")
    fig.tight_layout()
    return fig
