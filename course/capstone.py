"""Notebook 07's machinery: the digits, a small CNN built from any conv layer, its training loop,
and the kink network of the whole-network gradient check.

The CNN is built twice from one seed, once with ``nn.Conv2d`` and once with :class:`StudentConv2d`
(a module around any ``torch.autograd.Function`` with the signature ``apply(x, w, b, stride,
pad)``): same initial weights, same batches, float64 throughout, so the two learning curves can be
compared point by point. Nothing here computes a convolution's gradient in NumPy.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course import reference
from course.cases import grading_seed

DTYPE = torch.float64
SPLIT_SEED, TEST_SIZE = 0, 360          # a fixed split of the 1797 digits: 1437 train, 360 test
EPOCHS, BATCH_SIZE, LEARNING_RATE, MOMENTUM = 10, 32, 0.05, 0.9


# --------------------------------------------------------------------------------------------
# The data: scikit-learn's copy of the UCI handwritten digits, shipped inside the package


@dataclass(frozen=True)
class Digits:
    """8x8 grey digits as float64 NCHW tensors in ``[0, 1]`` and int64 labels, split once."""

    x_train: torch.Tensor  # (1437, 1, 8, 8)
    y_train: torch.Tensor  # (1437,)
    x_test: torch.Tensor   # (360, 1, 8, 8)
    y_test: torch.Tensor   # (360,)


@functools.cache
def digits() -> Digits:
    """The 1797 digits (pixel values 0-16 scaled to ``[0, 1]``), in a fixed train/test split."""
    from sklearn.datasets import load_digits  # on first use: most kernels that import this never do

    bunch = load_digits()
    x = torch.tensor(bunch.images / 16.0, dtype=DTYPE).unsqueeze(1)
    y = torch.tensor(bunch.target, dtype=torch.int64)
    order = torch.from_numpy(np.random.default_rng(SPLIT_SEED).permutation(len(y)))
    test, train = order[:TEST_SIZE], order[TEST_SIZE:]
    return Digits(x[train], y[train], x[test], y[test])


# --------------------------------------------------------------------------------------------
# The network, built from a conv layer factory


class StudentConv2d(nn.Module):
    """A conv layer whose forward and backward are those of ``function`` (an autograd Function).

    Its parameters have ``nn.Conv2d``'s names, shapes and initialisation (the same random draws),
    so a network built with it from a seed starts exactly where the ``nn.Conv2d`` one does.
    """

    def __init__(self, function: type[torch.autograd.Function], in_channels: int,
                 out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0) -> None:
        super().__init__()
        twin = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dtype=DTYPE)
        self.function, self.stride, self.padding = function, stride, padding
        self.weight = nn.Parameter(twin.weight.detach().clone())
        self.bias = nn.Parameter(twin.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function.apply(x, self.weight, self.bias, self.stride, self.padding)


# (in_channels, out_channels, kernel_size, padding) -> a conv layer
ConvFactory = Callable[[int, int, int, int], nn.Module]


def torch_conv(in_channels: int, out_channels: int, kernel_size: int, padding: int) -> nn.Module:
    """PyTorch's own conv layer, in float64."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, dtype=DTYPE)


def student_conv(function: type[torch.autograd.Function]) -> ConvFactory:
    """A factory of :class:`StudentConv2d` layers running ``function``."""
    def conv(in_channels: int, out_channels: int, kernel_size: int, padding: int) -> nn.Module:
        return StudentConv2d(function, in_channels, out_channels, kernel_size, padding=padding)
    return conv


def make_cnn(conv: ConvFactory, seed: int = 0) -> nn.Sequential:
    """conv 1->8 (3x3, pad 1), ReLU, 2x2 max-pool, conv 8->16, ReLU, max-pool, linear 64->10.

    Shapes for a batch of N digits: (N, 1, 8, 8) -> (N, 8, 8, 8) -> (N, 8, 4, 4) -> (N, 16, 4, 4)
    -> (N, 16, 2, 2) -> (N, 64) -> (N, 10) scores. The global random state is left untouched.
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nn.Sequential(
            conv(1, 8, 3, 1), nn.ReLU(), nn.MaxPool2d(2),
            conv(8, 16, 3, 1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64, 10, dtype=DTYPE))


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """The fraction of ``x`` whose highest score is its label."""
    with torch.no_grad():
        return float((model(x).argmax(dim=1) == y).to(DTYPE).mean())


@dataclass
class Curves:
    """What one training run measured: loss per step, test accuracy after each epoch, time."""

    step_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0
    finished: bool = True  # False: stopped at the time limit

    @property
    def steps_per_epoch(self) -> int:
        return len(self.step_loss) // max(len(self.test_accuracy), 1)


def train(model: nn.Module, data: Digits, epochs: int = EPOCHS, batch_size: int = BATCH_SIZE,
          lr: float = LEARNING_RATE, momentum: float = MOMENTUM, seed: int = 0,
          time_limit: float | None = None) -> Curves:
    """Minimise the cross-entropy with SGD and momentum; the batches follow ``seed`` only.

    Stops early (``finished=False``) once the run has taken more than ``time_limit`` seconds.
    """
    optimiser = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    generator = torch.Generator().manual_seed(seed)
    curves, start = Curves(), time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(data.y_train), generator=generator)
        for batch in order.split(batch_size):
            loss = F.cross_entropy(model(data.x_train[batch]), data.y_train[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            curves.step_loss.append(loss.item())
            if time_limit is not None and time.perf_counter() - start > time_limit:
                curves.seconds, curves.finished = time.perf_counter() - start, False
                return curves
        curves.test_accuracy.append(accuracy(model, data.x_test, data.y_test))
    curves.seconds = time.perf_counter() - start
    return curves


def max_weight_difference(a: nn.Module, b: nn.Module) -> float:
    """The largest ``|a - b|`` over all parameters of two networks of the same architecture."""
    with torch.no_grad():
        return max(float((p - q).abs().max()) for p, q in zip(a.parameters(), b.parameters(),
                                                              strict=True))


# --------------------------------------------------------------------------------------------
# The kink network: conv -> ReLU -> 2x2 max-pool -> linear -> weighted squared error


RELU_GAP = 6e-7   # the planted pre-activation sits this far above 0...
TIE_GAP = 6e-7    # ...and the planted max-pool runner-up this far below the winner
# The targets are the outputs plus noise of this size, as for a network part-way through training;
# a small loss keeps the round-off of a central difference (about 1e-16 |L| / eps) small.
RESIDUAL = 0.2


@dataclass(frozen=True)
class KinkNet:
    """A tiny network, NumPy parameters, evaluated by PyTorch in float64.

    ``z = conv(x, w, b, pad 1) (N, F, H, W)``, ``a = relu(z)``, ``p = maxpool2(a)`` of shape
    ``(N, F, H/2, W/2)``, ``out = p.flatten() @ V.T (N, K)``, ``L = sum(weight * (out -
    target)**2) / 2`` with random positive ``weight``. Its *switch pattern* is which ReLUs are on
    and which entry wins each pool window: the loss is smooth (quadratic) in any parameter
    wherever the pattern stays the same.
    """

    name: str
    x: np.ndarray       # (N, C, H, W)
    w: np.ndarray       # (F, C, 3, 3)
    b: np.ndarray       # (F,)
    V: np.ndarray       # (K, F * H/2 * W/2)
    target: np.ndarray  # (N, K)
    weight: np.ndarray  # (N, K)

    def pre_activation(self, **params: torch.Tensor) -> torch.Tensor:
        """``z = conv(x, w, b)`` with pad 1, for the net's parameters or the ones given."""
        x, w, b = (params.get(k, torch.from_numpy(getattr(self, k))) for k in ("x", "w", "b"))
        return F.conv2d(x, w, b, padding=1)

    def forward(self, **params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(out, relu on, pool winners)`` for the net's parameters or the ones given."""
        z = self.pre_activation(**params)
        pooled, winners = F.max_pool2d(F.relu(z), 2, return_indices=True)
        V = params.get("V", torch.from_numpy(self.V))
        return pooled.flatten(1) @ V.T, z > 0, winners

    def loss(self, **params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(L, relu on, pool winners)`` for the net's parameters or the ones given."""
        out, on, winners = self.forward(**params)
        residual = out - torch.from_numpy(self.target)
        return 0.5 * torch.sum(torch.from_numpy(self.weight) * residual ** 2), on, winners

    def loss_and_pattern(self, name: str) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        """``theta -> (L, pattern)`` with parameter ``name`` set to ``theta``, the rest fixed.

        The pattern is one int64 array: the ReLU on/off flags, then the pool winners' indices.
        """
        def loss_and_pattern(theta: np.ndarray) -> tuple[float, np.ndarray]:
            theta = torch.tensor(np.asarray(theta, dtype=np.float64))
            loss, on, winners = self.loss(**{name: theta})
            return float(loss), np.concatenate([on.flatten().numpy().astype(np.int64),
                                                winners.flatten().numpy()])
        return loss_and_pattern

    def gradient(self, name: str) -> np.ndarray:
        """``dL/d(name)`` by autograd, at the net's parameters."""
        theta = torch.tensor(getattr(self, name), requires_grad=True)
        self.loss(**{name: theta})[0].backward()
        return theta.grad.numpy()

    def crossings(self, name: str, eps: float) -> tuple[np.ndarray, np.ndarray]:
        """Where a step of ``+eps`` (first) or ``-eps`` (second) along one coordinate of ``name``
        changes the pattern: boolean arrays of the parameter's shape.

        ``z`` is linear in each of ``x``, ``w`` and ``b`` (and does not depend on ``V``), so
        ``z(theta + t e_i) = z + t J[:, i]`` with the Jacobian ``J = dz/dtheta``: every stepped
        pattern comes from one Jacobian, without evaluating the network once per coordinate.
        """
        shape = getattr(self, name).shape
        if name == "V":
            return np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
        z = self.pre_activation()
        theta = torch.from_numpy(getattr(self, name))
        J = torch.autograd.functional.jacobian(lambda t: self.pre_activation(**{name: t}), theta)
        J = J.reshape(z.numel(), -1).T.reshape(-1, *z.shape)       # (coordinates, N, F, H, W)
        on, winners = _pattern(z[None])
        changed = []
        for step in (eps, -eps):
            on_s, winners_s = _pattern(z[None] + step * J)
            differs = (on_s != on).flatten(1).any(1) | (winners_s != winners).flatten(1).any(1)
            changed.append(differs.numpy().reshape(shape))
        return changed[0], changed[1]


def _pattern(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """ReLU flags and pool winners of pre-activations ``z (S, N, F, H, W)``, per ``S``."""
    S, N, Fz, H, W = z.shape
    _, winners = F.max_pool2d(F.relu(z.reshape(S * N, Fz, H, W)), 2, return_indices=True)
    return z > 0, winners.reshape(S, N, Fz, H // 2, W // 2)


def _windows(x: np.ndarray) -> np.ndarray:
    """The 3x3 input window (pad 1) of every conv output, ``(N, C, H, W, 3, 3)``."""
    x_pad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    return np.lib.stride_tricks.sliding_window_view(x_pad, (3, 3), axis=(2, 3))


def _pool_view(z: np.ndarray) -> np.ndarray:
    """``z (N, F, H, W)`` as ``(N, F, H/2, W/2, 4)``: the four entries of each pool window."""
    N, Fz, H, W = z.shape
    return z.reshape(N, Fz, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(
        N, Fz, H // 2, W // 2, 4)


def _plant_relu_kink(net: dict, f: int) -> None:
    """Shift ``b[f]`` so that one pool winner of filter ``f`` sits ``RELU_GAP`` above zero.

    The window chosen is the one whose winner leads its runner-up by most, so that the other three
    entries end up clearly negative: crossing the kink switches that window's output off.
    """
    z = reference.conv2d(net["x"], net["w"], net["b"], pad=1)
    top2 = np.sort(_pool_view(z)[:, f], axis=-1)[..., -2:]          # (N, H/2, W/2, 2)
    n, i, j = np.unravel_index(np.argmax(top2[..., 1] - top2[..., 0]), top2.shape[:3])
    net["b"][f] -= top2[n, i, j, 1] - RELU_GAP


def _plant_pool_tie(net: dict, f: int) -> None:
    """Move ``w[f]`` so that in one window of filter ``f`` two positive entries nearly tie.

    ``z1 - z2 = <w[f], X1 - X2>`` for the windows ``X1``, ``X2`` the two entries read, so a step
    along ``X1 - X2`` sets their gap to ``TIE_GAP``. Windows are tried from the smallest gap
    between two positive leaders (the smallest step); the first where, after the step, the pair
    still leads clearly (positive, the others well below) is kept.
    """
    x, w, b = net["x"], net["w"], net["b"]
    pools = _pool_view(reference.conv2d(x, w, b, pad=1))[:, f]      # (N, H/2, W/2, 4)
    ranked = np.argsort(pools, axis=-1)
    top = np.take_along_axis(pools, ranked[..., -2:], axis=-1)
    gaps = np.where(top[..., 0] > 0.2, top[..., 1] - top[..., 0], np.inf)
    windows = _windows(x)
    for flat in np.argsort(gaps, axis=None):
        n, i, j = np.unravel_index(flat, gaps.shape)
        (u1, v1), (u2, v2) = (divmod(int(k), 2) for k in ranked[n, i, j, [-1, -2]])
        d = windows[n, :, 2 * i + u1, 2 * j + v1] - windows[n, :, 2 * i + u2, 2 * j + v2]
        w_f = w[f] + (TIE_GAP - gaps[n, i, j]) * d / np.sum(d * d)
        z = reference.conv2d(x[n:n + 1], w_f[None], b[f:f + 1], pad=1)[0, 0]
        pair = z[2 * i + u1, 2 * j + v1], z[2 * i + u2, 2 * j + v2]
        rest = np.delete(z[2 * i:2 * i + 2, 2 * j:2 * j + 2].ravel(), [2 * u1 + v1, 2 * u2 + v2])
        if min(pair) > 0.1 and rest.max() < min(pair) - 0.05:
            w[f] = w_f
            return
    raise ValueError("no window of this network can hold a planted tie")


@functools.cache
def kink_net(name: str = "kink-a", N: int = 2, C: int = 1, H: int = 6, W: int = 6, Fn: int = 4,
             K: int = 3) -> KinkNet:
    """A seeded :class:`KinkNet` with two planted kinks near its parameters.

    Filter 0 has a ReLU kink: one pool winner ``RELU_GAP`` above zero. Filter 1 has a max-pool
    near-tie: two positive entries ``TIE_GAP`` apart. A step of ``eps = 1e-6`` along a parameter
    that moves them by more than that crosses the kink; the other filters have none (unless by
    chance, which :meth:`KinkNet.crossings` would see). The arrays follow the grading seed.
    """
    rng = np.random.default_rng([grading_seed(), zlib.crc32(name.encode())])
    net = {"x": rng.standard_normal((N, C, H, W)), "w": rng.standard_normal((Fn, C, 3, 3)) / 2,
           "b": rng.standard_normal(Fn) / 4}
    _plant_pool_tie(net, 1)
    _plant_relu_kink(net, 0)
    P = Fn * (H // 2) * (W // 2)
    net = KinkNet(name, net["x"], net["w"], net["b"], V=rng.standard_normal((K, P)) / np.sqrt(P),
                  target=np.zeros((N, K)), weight=rng.uniform(0.5, 1.5, (N, K)))
    out = net.forward()[0].numpy()
    return dataclasses.replace(net, target=out + RESIDUAL * rng.standard_normal(out.shape))
