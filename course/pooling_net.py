"""Notebook 08's network, as PyTorch computes it: conv -> ReLU -> 2x2 max-pool -> affine ->
softmax cross-entropy, in float64.

For ``x (N, C, H, W)`` (H and W even) and labels ``y (N,)``: ``z = conv(x, w, b)`` with 3x3
kernels and pad 1, ``(N, F, H, W)``; ``a = relu(z)``; ``p = maxpool(a)`` with a 2x2 window and
stride 2, ``(N, F, H/2, W/2)``; ``scores = p.reshape(N, -1) @ V.T + c``, ``(N, K)``; ``L`` the
mean over the batch of ``-log softmax(scores)[n, y[n]]``. Parameters ``w (F, C, 3, 3)``,
``b (F,)``, ``V (K, F*H/2*W/2)``, ``c (K,)``, always in this order.

The loss is piecewise smooth: its *switch pattern* (which ReLUs are on, which entry wins each
pool window) changes at kinks. :func:`honest_gradient_check` compares central differences with a
gradient where no step crosses one, and flags the coordinates whose steps do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from course import capstone
from course.cases import rng_for

PARAMS = ("w", "b", "V", "c")


@dataclass(frozen=True)
class NetCase:
    """One network and batch: ``N`` inputs ``(C, H, W)``, ``F`` filters, ``K`` classes.

    With ``digits`` the batch is the first ``N`` training digits of notebook 07's split (C = 1,
    8x8); otherwise inputs are standard normal and labels random.
    """

    name: str
    N: int
    C: int = 1
    H: int = 8
    W: int = 8
    F: int = 8
    K: int = 10
    digits: bool = False

    def describe(self) -> str:
        data = f"{self.N} digits" if self.digits else f"x ({self.N},{self.C},{self.H},{self.W})"
        return f"{data}, {self.F} filters, {self.K} classes"


def digit_batch(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` training digits, ``x (n, 1, 8, 8)`` in ``[0, 1]`` and labels ``y (n,)``."""
    data = capstone.digits()
    return data.x_train[:n].numpy().copy(), data.y_train[:n].numpy().copy()


def initial_params(case: NetCase, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """``(w, b, V, c)`` drawn as He et al. suggest for ReLU layers, small random biases."""
    P = case.F * (case.H // 2) * (case.W // 2)
    return (rng.standard_normal((case.F, case.C, 3, 3)) * np.sqrt(2 / (9 * case.C)),
            rng.standard_normal(case.F) * 0.1,
            rng.standard_normal((case.K, P)) * np.sqrt(1 / P),
            rng.standard_normal(case.K) * 0.1)


def case_arrays(case: NetCase, salt: str = "") -> tuple[np.ndarray, np.ndarray, tuple]:
    """Seeded ``(x, y, (w, b, V, c))`` for a case."""
    rng = rng_for(case, salt)
    if case.digits:
        x, y = digit_batch(case.N)
    else:
        x = rng.standard_normal((case.N, case.C, case.H, case.W))
        y = rng.integers(0, case.K, case.N)
    return x, y, initial_params(case, rng)


def _max_pool(a: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(a, 2)


def loss_and_gradients(x, y, w, b, V, c, relu: Callable = F.relu, pool: Callable = _max_pool,
                       head: Callable = F.cross_entropy) -> tuple[float, np.ndarray, np.ndarray,
                                                                  np.ndarray, np.ndarray]:
    """``(L, dw, db, dV, dc)`` by PyTorch's autograd, in float64.

    ``relu``, ``pool`` and ``head`` (scores, labels -> loss) may be swapped for other layers,
    which is how the checks compute known wrong answers.
    """
    params = [torch.tensor(np.asarray(p, dtype=np.float64), requires_grad=True)
              for p in (w, b, V, c)]
    w_, b_, V_, c_ = params
    z = F.conv2d(torch.tensor(np.asarray(x, dtype=np.float64)), w_, b_, padding=1)
    scores = pool(relu(z)).flatten(1) @ V_.T + c_
    loss = head(scores, torch.tensor(np.asarray(y, dtype=np.int64)))
    loss.backward()
    return (float(loss.detach()), *(p.grad.numpy() for p in params))


def pattern(x, w, b) -> np.ndarray:
    """The switch pattern, one int64 array: the ReLU on/off flags, then the pool winners."""
    with torch.no_grad():
        z = F.conv2d(torch.tensor(x, dtype=torch.float64), torch.tensor(w), torch.tensor(b),
                     padding=1)
        _, winners = F.max_pool2d(F.relu(z), 2, return_indices=True)
    return np.concatenate([(z > 0).flatten().numpy().astype(np.int64),
                           winners.flatten().numpy()])


def relative_errors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per entry ``|a - b| / max(1e-8, |a| + |b|)``, as in notebook 02."""
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))


@dataclass(frozen=True)
class Probe:
    """Central differences of one parameter at some of its coordinates."""

    name: str
    coords: list[tuple[int, ...]]
    numerical: np.ndarray  # one per coordinate
    crossed: np.ndarray    # bool: a step of +-eps changes the switch pattern


def honest_gradient_check(loss: Callable[..., float], x: np.ndarray, y: np.ndarray,
                          params: tuple[np.ndarray, ...], eps: float = 1e-6,
                          samples: int | None = None, seed: int = 0) -> list[Probe]:
    """Central differences of ``loss(x, y, w, b, V, c)`` for each parameter, with kink flags.

    ``samples`` coordinates per parameter, drawn at random (``None``: every coordinate). A
    coordinate is flagged when the pattern at ``theta + eps e_i`` or ``theta - eps e_i`` differs
    from the pattern at ``theta``; ``V`` and ``c`` come after the pool, so they never cross one.
    """
    rng = np.random.default_rng(seed)
    start = pattern(x, *params[:2])
    probes = []
    for k, name in enumerate(PARAMS):
        theta = [p.copy() for p in params]
        every = list(np.ndindex(theta[k].shape))
        if samples is not None and samples < len(every):
            every = [every[i] for i in sorted(rng.choice(len(every), samples, replace=False))]
        numerical, crossed = np.zeros(len(every)), np.zeros(len(every), dtype=bool)
        for m, i in enumerate(every):
            old = theta[k][i]
            values = []
            for step in (eps, -eps):
                theta[k][i] = old + step
                values.append(loss(x, y, *theta))
                crossed[m] |= k < 2 and not np.array_equal(pattern(x, *theta[:2]), start)
            theta[k][i] = old
            numerical[m] = (values[0] - values[1]) / (2 * eps)
        probes.append(Probe(name, every, numerical, crossed))
    return probes


def train_reference(x, y, params, lr: float, steps: int) -> list[float]:
    """The loss before each of ``steps`` plain SGD steps with autograd's gradients."""
    params, losses = [p.copy() for p in params], []
    for _ in range(steps):
        loss, *grads = loss_and_gradients(x, y, *params)
        losses.append(loss)
        for p, g in zip(params, grads, strict=True):
            p -= lr * g
    return losses
