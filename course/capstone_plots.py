"""Pictures for notebook 07: learning curves, step-size errors, a kink, errors per coordinate."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from course.capstone import Curves

STYLES = ({"color": "tab:blue", "lw": 3.0, "alpha": 0.5}, {"color": "black", "lw": 1.0, "ls": "--"})


def show_learning_curves(runs: Mapping[str, Curves], window: int = 15) -> plt.Figure:
    """Training loss (mean of ``window`` steps) and test accuracy per epoch of several runs."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8), layout="constrained")
    for (name, curves), style in zip(runs.items(), STYLES, strict=False):
        smooth = np.convolve(curves.step_loss, np.ones(window) / window, mode="valid")
        steps = np.arange(window, len(curves.step_loss) + 1) / curves.steps_per_epoch
        left.plot(steps, smooth, label=f"{name} ({curves.seconds:.1f} s)", **style)
        right.plot(np.arange(1, len(curves.test_accuracy) + 1), curves.test_accuracy,
                   marker="o", label=f"{name}: {curves.test_accuracy[-1]:.3f}", **style)
    left.set(yscale="log", xlabel="epoch", ylabel="cross-entropy (log scale)",
             title=f"training loss, mean of the last {window} batches")
    right.set(xlabel="epoch", ylabel="accuracy on the 360 test digits",
              title="test accuracy after each epoch")
    right.set_ylim(top=1.0)
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def show_step_errors(steps: np.ndarray, errors: Mapping[str, np.ndarray],
                     mark: float | None = None) -> plt.Figure:
    """The error of a central difference against its step ``eps``, one line per dtype, log-log."""
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    for name, error in errors.items():
        ax.loglog(steps, np.maximum(error, 1e-17), marker=".", label=name)
    if mark is not None:
        ax.axvline(mark, color="grey", ls=":", label=f"gradcheck's eps = {mark:g}")
    ax.set(xlabel="step eps", ylabel="relative error of the central difference",
           title="round-off (left) against truncation (right)")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return fig


def show_kink(t0: float = 0.3, eps: float = 1.0) -> plt.Figure:
    """A loss along one coordinate with a kink at ``t0``, and a central difference straddling it.

    ``L(t) = max(0, t - t0) * 2 + 0.5 t``: slope 0.5 left of the kink, 2.5 right of it. At
    ``t = 0`` the derivative is 0.5, but ``(L(eps) - L(-eps)) / (2 eps)`` averages both slopes.
    """
    def loss(t):
        return 2 * np.maximum(0.0, t - t0) + 0.5 * t

    t = np.linspace(-1.6, 1.6, 400)
    secant = (loss(eps) - loss(-eps)) / (2 * eps)
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    ax.plot(t, loss(t), color="black", label="L(theta + t e_i)")
    ax.plot(t, loss(0.0) + 0.5 * t, color="tab:green", ls="--",
            label="tangent at t = 0: the true derivative, 0.5")
    ax.plot([-eps, eps], [loss(-eps), loss(eps)], color="tab:red", marker="o",
            label=f"central difference: slope {secant:.2f}")
    ax.axvline(t0, color="grey", ls=":", label="the kink: a ReLU switches")
    ax.plot([0.0], [loss(0.0)], "ko")
    for t_, text in ((-eps, "theta - eps e_i"), (0.0, "theta"), (eps, "theta + eps e_i")):
        ax.annotate(text, (t_, loss(t_)), textcoords="offset points", xytext=(-20, 10))
    ax.set(xlabel="t (the step along coordinate i)", ylabel="loss",
           title="a step that crosses a kink averages two slopes")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def show_coordinate_errors(errors: Mapping[str, np.ndarray], crossed: np.ndarray | None = None,
                           tol: float | None = None) -> plt.Figure:
    """Relative error per coordinate (log scale), one panel per check; crossed kinks in red.

    With ``crossed=None`` (not known yet) every coordinate is drawn alike.
    """
    fig, axes = plt.subplots(1, len(errors), figsize=(6 * len(errors), 3.6), squeeze=False,
                             layout="constrained", sharey=True)
    for ax, (name, error) in zip(axes[0], errors.items(), strict=True):
        error = np.maximum(np.ravel(error), 1e-17)
        index = np.arange(error.size)
        if crossed is None:
            ax.scatter(index, error, s=14, color="tab:blue", label="one coordinate")
        else:
            kink = np.ravel(crossed)
            ax.scatter(index[~kink], error[~kink], s=14, color="tab:blue",
                       label="no kink between theta - eps and theta + eps")
            ax.scatter(index[kink], error[kink], s=40, color="tab:red", marker="x",
                       label="a step crosses a kink")
        if tol is not None:
            ax.axhline(tol, color="grey", ls=":", label=f"tolerance {tol:g}")
        ax.set(yscale="log", xlabel="coordinate i of theta (flattened)", title=name)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("relative error against autograd")
    axes[0, -1].legend(fontsize=8)
    return fig
