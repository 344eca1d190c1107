"""Pictures of the backward pass with stride and padding (notebook 04), and a gradient check.

Every gradient drawn comes from PyTorch's autograd (:mod:`course.reference`), except in
:func:`gradient_check`, which compares a layer's backward with central differences of the layer's
own forward, as a student would, and maps where ``dx`` is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import matplotlib.pyplot as plt
import numpy as np

from course import reference
from course.backward_plots import _panel, one_hot
from course.cases import ConvCase, arrays
from course.checks import scaled_error


def dilate(dout: np.ndarray, stride: int) -> np.ndarray:
    """``dout (HO, WO)`` with ``stride - 1`` zeros between entries: ``((HO-1)s+1, (WO-1)s+1)``."""
    HO, WO = dout.shape
    dilated = np.zeros(((HO - 1) * stride + 1, (WO - 1) * stride + 1))
    dilated[::stride, ::stride] = dout
    return dilated


def show_stride_impulses(x_shape: tuple[int, int], w: np.ndarray, position: tuple[int, int],
                         strides: Iterable[int] = (1, 2, 3)) -> plt.Figure:
    """One row per stride: a one-hot ``dY`` at ``position``, ``dY`` dilated, and ``dX``.

    No padding. ``dX`` (by autograd) is ``w`` stamped, upright, into the window output
    ``position`` read, whose corner is at ``(i * stride, j * stride)`` (outlined).
    """
    strides = list(strides)
    KH, KW = w.shape
    i, j = position
    limit = np.abs(w).max() or 1.0
    fig, axes = plt.subplots(len(strides), 3, figsize=(10.5, 3.4 * len(strides)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1.3, 1.5]})
    for row, stride in zip(axes, strides, strict=True):
        HO, WO = (x_shape[0] - KH) // stride + 1, (x_shape[1] - KW) // stride + 1
        dout = one_hot((HO, WO), i, j)
        dx = reference.conv2d_single_backward(dout, np.zeros(x_shape), w, stride)[0]
        _panel(row[0], dout, f"stride {stride}: dY ({HO}x{WO}),\none-hot at ({i}, {j})", 1.0,
               (i, j, 1, 1), "tab:red")
        dilated = dilate(dout, stride)
        _panel(row[1], dilated, f"dY dilated ({dilated.shape[0]}x{dilated.shape[1]}):\n"
               f"{stride - 1} zero(s) between entries", 1.0,
               (i * stride, j * stride, 1, 1), "tab:red")
        _panel(row[2], dx, f"dX ({x_shape[0]}x{x_shape[1]}): w stamped at\n"
               f"({i}·{stride}, {j}·{stride}) = ({i * stride}, {j * stride})", limit,
               (i * stride, j * stride, KH, KW))
    fig.tight_layout()
    return fig


def coverage(x_shape: tuple[int, int], kernel_shape: tuple[int, int], stride: int = 1,
             pad: int = 0) -> np.ndarray:
    """How many windows read each pixel of the padded input: ``(H + 2 pad, W + 2 pad)``.

    It is ``dx_pad`` for an all-ones kernel and an all-ones ``dY``, by autograd.
    """
    H, W = x_shape
    KH, KW = kernel_shape
    x_pad = np.zeros((H + 2 * pad, W + 2 * pad))
    HO, WO = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
    return reference.conv2d_single_backward(np.ones((HO, WO)), x_pad, np.ones(kernel_shape),
                                            stride)[0]


def show_coverage(x_shape: tuple[int, int], kernel_shape: tuple[int, int],
                  configs: Iterable[tuple[int, int]], title: str = "") -> plt.Figure:
    """For each ``(stride, pad)``: how many windows read each pixel of the padded input.

    The dashed box is ``x`` inside its padding: ``dx`` is the crop to that box; whatever lands
    outside it is the gradient of the padding's zeros, and is thrown away. Rows and columns no
    window reads are hatched: their gradient is exactly zero.
    """
    configs = list(configs)
    H, W = x_shape
    fig, axes = plt.subplots(1, len(configs), figsize=(3.6 * len(configs), 4.0), squeeze=False)
    largest = max(coverage(x_shape, kernel_shape, s, p).max() for s, p in configs)
    for ax, (stride, pad) in zip(axes[0], configs, strict=True):
        counts = coverage(x_shape, kernel_shape, stride, pad)
        ax.imshow(counts, cmap="Greens", vmin=0, vmax=largest)
        for (r, c), v in np.ndenumerate(counts):
            inside = pad <= r < pad + H and pad <= c < pad + W
            ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=8,
                    color=("white" if v > 0.6 * largest else "black") if inside
                    else ("silver" if v > 0.6 * largest else "grey"))
        for r in np.flatnonzero(counts.sum(axis=1) == 0):
            ax.axhspan(r - 0.5, r + 0.5, fill=False, hatch="//", edgecolor="tab:red", lw=0)
        for c in np.flatnonzero(counts.sum(axis=0) == 0):
            ax.axvspan(c - 0.5, c + 0.5, fill=False, hatch="\\\\", edgecolor="tab:red", lw=0)
        ax.add_patch(plt.Rectangle((pad - 0.5, pad - 0.5), W, H, fill=False, edgecolor="tab:blue",
                                   lw=2, ls="--"))
        ax.set_title(f"stride {stride}, pad {pad}\n(padded {counts.shape[0]}x{counts.shape[1]})",
                     fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 0.93) if title else None)
    return fig


def _numerical_dx(forward: Callable, x, w, b, stride, pad, dout, eps=1e-5) -> np.ndarray:
    """Central differences of ``L(x) = sum(forward(x)[0] * dout)``, float64."""
    dx = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        plus = np.sum(forward(x + step, w, b, stride, pad)[0] * dout)
        minus = np.sum(forward(x - step, w, b, stride, pad)[0] * dout)
        dx[index] = (plus - minus) / (2 * eps)
    return dx


def _numerical_dw(forward: Callable, x, w, b, stride, pad, dout, eps=1e-5) -> np.ndarray:
    dw = np.zeros_like(w)
    for index in np.ndindex(*w.shape):
        step = np.zeros_like(w)
        step[index] = eps
        plus = np.sum(forward(x, w + step, b, stride, pad)[0] * dout)
        minus = np.sum(forward(x, w - step, b, stride, pad)[0] * dout)
        dw[index] = (plus - minus) / (2 * eps)
    return dw


def _compare(name: str, got, numeric) -> str:
    got = np.asarray(got, dtype=float)
    if got.shape != np.shape(numeric):
        return f"{name} has shape {got.shape}, expected {np.shape(numeric)}  <-- WRONG"
    error = scaled_error(got, np.asarray(numeric))
    verdict = "ok" if error < 1e-7 else "<-- WRONG"
    return f"{name} error {error:.1e} {verdict}"


def _blank(ax, text: str = "") -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    if text:
        ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=8, color="tab:red",
                transform=ax.transAxes)


def gradient_check(forward: Callable, backward: Callable, cases: Iterable[ConvCase]) -> plt.Figure:
    """Check a layer ``forward(x, w, b, stride, pad) -> (out, cache)``, ``backward(dout, cache)``.

    For each case (seeded random ``x``, ``w``, ``b`` and ``dout``): the forward against PyTorch,
    then ``dx``, ``dw``, ``db`` against central differences of the layer's own forward (relative
    error, about 1e-10 when right). One column per case: the finite-difference ``dx``, the
    layer's ``dx`` and their difference, all three on the scale of the true gradient (white: 0).
    """
    cases = list(cases)
    fig, axes = plt.subplots(3, len(cases), figsize=(3.3 * len(cases), 9.0), squeeze=False)
    for column, case in zip(axes.T, cases, strict=True):
        data = arrays(case, "gradient-check")
        x, w, b, dout = data.x[0, 0], data.w[0, 0], float(data.b[0]), data.dout[0, 0]
        label = case.describe(single=True)
        column[0].set_title(label.replace(", stride", "\nstride") + "\n\nfinite differences' dx",
                            fontsize=9)
        for ax in column:
            _blank(ax)
        print(label)
        try:
            out, cache = forward(x, w, b, case.stride, case.pad)
            truth = reference.conv2d_single(x, w, b, case.stride, case.pad)
            print("   forward:", _compare("out", out, truth))
            dx, dw, db = backward(dout, cache)
        except Exception as error:  # the point of a gradient check: show whatever went wrong
            message = f"{type(error).__name__}: {error}"
            print("   raised", message)
            _blank(column[1], "raised\n" + message.replace(": ", ":\n", 1))
            continue
        dx_num = _numerical_dx(forward, x, w, b, case.stride, case.pad, dout)
        dw_num = _numerical_dw(forward, x, w, b, case.stride, case.pad, dout)
        print("   backward:", _compare("dx", dx, dx_num), "|", _compare("dw", dw, dw_num), "|",
              _compare("db", db, dout.sum()))
        limit = np.abs(dx_num).max() or 1.0
        column[0].imshow(dx_num, cmap="RdBu_r", vmin=-limit, vmax=limit)
        dx = np.asarray(dx, dtype=float)
        if dx.shape != dx_num.shape:
            _blank(column[1], f"dx has shape {dx.shape},\nexpected {dx_num.shape}")
            continue
        column[1].imshow(dx, cmap="RdBu_r", vmin=-limit, vmax=limit)
        column[1].set_title("the layer's dx", fontsize=9)
        column[2].imshow(dx - dx_num, cmap="RdBu_r", vmin=-limit, vmax=limit)
        column[2].set_title("difference (white: right)", fontsize=9)
    fig.tight_layout()
    return fig
