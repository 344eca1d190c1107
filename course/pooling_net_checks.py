"""Graded checks of notebook 08's network: its whole gradient, and a training run that overfits.

``network_loss(x, y, w, b, V, c) -> (loss, dw, db, dV, dc)`` is compared with PyTorch's autograd
of the same network (:mod:`course.pooling_net`), then with central differences of its own loss
at sampled coordinates, where a step that crosses a kink (a ReLU switching, a pool winner
changing) is flagged and not compared. ``train(x, y, w, b, V, c, lr, steps) -> (losses, w, b,
V, c)`` must drive the loss of a small batch of digits below a bar, judged by PyTorch at the
parameters it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from course import pooling_net
from course.backward_checks import BACKWARD_TOL, as_float64
from course.checks import CheckFailure, Misconception, call_student, compare, report
from course.pooling_net import PARAMS, NetCase

# Random inputs (the digits load in seconds: only the training cell uses them), each case with
# its own N, C, H != W, F and K, so that a network with hard-coded sizes fails.
GRADIENT_CASES = [
    NetCase("net-n8-c1-8x8-f8-k10", 8),
    NetCase("net-n3-c2-6x8-f4-k5", 3, C=2, H=6, W=8, F=4, K=5),
    NetCase("net-n4-c1-8x6-f3-k3", 4, H=8, W=6, F=3, K=3),
    NetCase("net-n2-c3-4x4-f5-k4", 2, C=3, H=4, W=4, F=5, K=4),
]
OVERFIT_CASES = [NetCase("overfit-32-digits", 32, digits=True),
                 NetCase("overfit-24-digits-6-filters", 24, F=6, digits=True)]
# Central differences with eps = 1e-6 of this smooth-between-kinks loss: truncation about
# 1e-12, round-off about 1e-16 L / eps = 1e-10, against gradients of order 0.01 to 1. One-sided
# differences or a loss that is not the one differentiated are off by 1e-4 or more.
FD_EPS, FD_TOL, FD_SAMPLES = 1e-6, 1e-6, 6
# SGD on 32 digits: the course's solution reaches a loss of about 0.01 (from ln 10 = 2.3) in 150
# steps of 0.5. A wrong sign, a missing layer's update or a gradient N times too large does not.
OVERFIT_LR, OVERFIT_STEPS, OVERFIT_BAR = 0.5, 150, 0.05
HINT = ("\nThe network runs your maxpool_forward and maxpool_backward, and the conv layer you "
        "pasted in section 0 (the cell after it compares it with PyTorch): if one of them fails, "
        "fix it first.")


class _ReLUMaskedByGradient(torch.autograd.Function):
    """ReLU whose backward keeps the positive entries of the upstream gradient (a known bug)."""

    @staticmethod
    def forward(ctx, z):
        return z.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        return grad * (grad > 0)


class _PoolToWholeWindow(torch.autograd.Function):
    """2x2 max-pool whose backward gives every entry of a window its dout (a known bug)."""

    @staticmethod
    def forward(ctx, a):
        return F.max_pool2d(a, 2)

    @staticmethod
    def backward(ctx, grad):
        return grad.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


def _log_sum_exp(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.logsumexp(scores, dim=1).mean()


def network_misconceptions(k: int, x, y, params, truth: tuple) -> list[Misconception]:
    """Known wrong values of gradient ``k`` (0 to 3: dw, db, dV, dc) of the network."""
    N = x.shape[0]

    def wrong(**layers):
        return lambda: pooling_net.loss_and_gradients(x, y, *params, **layers)[1 + k]

    def transposed():
        if truth[1 + k].ndim != 2:
            raise ValueError("only a matrix has a transpose")
        return truth[1 + k].T

    return [
        Misconception("ReLU masked by the gradient", wrong(relu=_ReLUMaskedByGradient.apply),
                      "the ReLU's backward is masked on the wrong side: dz = da * (z > 0), "
                      "where the ReLU's INPUT z was positive, not where the gradient da is."),
        Misconception("max-pool's gradient to the whole window",
                      wrong(pool=_PoolToWholeWindow.apply),
                      "every entry of each pool window got dp: only the window's maximum "
                      "reaches the output, so only it gets the gradient (maxpool_backward)."),
        Misconception("softmax gradient without the one-hot", wrong(head=_log_sum_exp),
                      "dscores = softmax(scores) / N is missing the -1 at the true class: "
                      "dL/dscores[n, k] = (softmax(scores)[n, k] - [k == y[n]]) / N."),
        Misconception("gradient of the summed loss", lambda: truth[1 + k] * N,
                      f"your gradient is N = {N} times too large: the loss is the MEAN over the "
                      "batch, so dscores carries a 1/N."),
        Misconception("divided by N twice", lambda: truth[1 + k] / N,
                      f"your gradient is N = {N} times too small: the 1/N of the mean is in "
                      "dscores once; the layers below sum over the batch without dividing again."),
        Misconception("transposed", transposed,
                      "dV has the shape of V, (K, F*H/2*W/2): dV = dscores.T @ flat."),
    ]


def _unpack(result, label: str) -> tuple:
    if not isinstance(result, (tuple, list)) or len(result) != 5:
        raise CheckFailure(f"network_loss should return (loss, dw, db, dV, dc), got "
                           f"{type(result).__name__} (on {label}).")
    return result


def check_network_gradients(network_loss: Callable, cases: Iterable[NetCase]) -> None:
    """The loss and every gradient equal autograd's; central differences of your loss agree
    with your gradient at sampled coordinates whose steps cross no kink."""
    passed = []
    for case in cases:
        x, y, params = pooling_net.case_arrays(case, "network-gradients")
        label = case.describe()
        truth = pooling_net.loss_and_gradients(x, y, *params)
        try:
            result = _unpack(call_student(network_loss, x, y, *params, label=label), label)
            summed = np.float64(truth[0] * case.N)
            compare("loss", np.float64(as_float64("loss", result[0], label)),
                    np.float64(truth[0]), label, BACKWARD_TOL,
                    [Misconception("summed loss", lambda s=summed: s,
                                   "your loss is the SUM over the batch: it is the mean.")])
            errors = [compare(f"d{name}", as_float64(f"d{name}", got, label), expected, label,
                              BACKWARD_TOL, network_misconceptions(k, x, y, params, truth))
                      for k, (name, got, expected) in enumerate(zip(PARAMS, result[1:],
                                                                    truth[1:], strict=True))]
        except CheckFailure as failure:
            raise CheckFailure(f"{failure}{HINT}") from None
        crossed, worst = _central_differences(network_loss, x, y, params, result[1:], label)
        passed.append(f"{label}: loss and dw, db, dV, dc match autograd (relative error <= "
                      f"{max(errors):.0e}); central differences at {FD_SAMPLES} coordinates of "
                      f"each agree to {worst:.0e}, {crossed} crossing a kink flagged")
    report(passed, f"PyTorch's autograd (float64, relative error <= {BACKWARD_TOL:g}) and "
                   "central differences of your loss")


def _central_differences(network_loss, x, y, params, grads, label: str) -> tuple[int, float]:
    """Your loss's central differences against your gradient, away from kinks."""
    def loss(*args) -> float:
        return float(call_student(network_loss, *args, label=label)[0])

    probes = pooling_net.honest_gradient_check(loss, x, y, params, FD_EPS, FD_SAMPLES)
    crossed, worst = 0, 0.0
    for probe, grad in zip(probes, grads, strict=True):
        analytic = np.array([grad[i] for i in probe.coords])
        smooth = ~probe.crossed
        scale = max(float(np.abs(grad).max()), 1e-12)
        error = float(np.max(np.abs(probe.numerical - analytic)[smooth], initial=0.0)) / scale
        if error > FD_TOL:
            raise CheckFailure(f"central differences of your loss disagree with your d"
                               f"{probe.name} on {label}: relative error {error:.2g} (tolerance "
                               f"{FD_TOL:g}) at coordinates where no step crosses a kink.")
        crossed += int(probe.crossed.sum())
        worst = max(worst, error)
    return crossed, worst


def check_overfit(train: Callable, cases: Iterable[NetCase], lr: float = OVERFIT_LR,
                  steps: int = OVERFIT_STEPS, bar: float = OVERFIT_BAR) -> None:
    """``train`` must bring the mean cross-entropy of a small batch of digits below ``bar``.

    The loss is judged by PyTorch at the parameters ``train`` returns; the first loss it
    reports must be the loss at the parameters it was given.
    """
    passed = []
    for case in cases:
        x, y, params = pooling_net.case_arrays(case, "overfit")
        label = f"{case.describe()}, lr {lr:g}, {steps} steps"
        result = call_student(train, x, y, *params, lr, steps, label=label)
        if not isinstance(result, (tuple, list)) or len(result) != 5:
            raise CheckFailure(f"train should return (losses, w, b, V, c), got "
                               f"{type(result).__name__} (on {label}).")
        losses = as_float64("losses", result[0], label).ravel()
        if losses.size != steps:
            raise CheckFailure(f"losses should hold one loss per step, {steps}, got "
                               f"{losses.size} (on {label}).")
        start = pooling_net.loss_and_gradients(x, y, *params)[0]
        compare("the first loss", losses[:1], np.array([start]), label, BACKWARD_TOL)
        final = [as_float64(name, p, label) for name, p in zip(PARAMS, result[1:], strict=True)]
        for name, got, given in zip(PARAMS, final, params, strict=True):
            if got.shape != given.shape:
                raise CheckFailure(f"the {name} train returned has shape {got.shape}, expected "
                                   f"{given.shape} (on {label}).")
        end = pooling_net.loss_and_gradients(x, y, *final)[0]
        if not end <= bar:
            why = ("the loss ROSE: a gradient points uphill, so step against it, "
                   "p -= lr * dp." if end > start else
                   "the loss fell too little. If the test of network_loss fails, fix that "
                   "first (a wrong gradient trains badly); otherwise check that every "
                   "parameter (w, b, V and c) takes a step each time, with the gradient at "
                   "the current parameters.")
            raise CheckFailure(f"after training the loss is {end:.3g} (from {start:.3g}), above "
                               f"the bar {bar:g} (on {label}): {why}")
        marks = ", ".join(f"step {i}: {losses[i]:.3f}" for i in (0, steps // 3, 2 * steps // 3))
        passed.append(f"{label}: {marks}; at the returned parameters {end:.4f} <= {bar:g} "
                      f"({end / start:.1%} of the start)")
    report(passed, f"a loss below {bar:g} after training")
