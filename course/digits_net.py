"""Notebook 07's redo of a complaint from the deepnet issue (seed 002), on the shipped digits.

The network of the issue: conv (F filters 3x3, pad 0) -> ReLU -> max-pool (size 2, stride 1) ->
fully connected (10 classes) -> softmax cross-entropy, evaluated by PyTorch in float64, checked as
a function of the conv weights ``w (F, 1, 3, 3)``. The digits are scikit-learn's 8x8 ones (pixel
values 0-16), rescaled to MNIST's raw 0-255 range, or to ``[0, 1]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from course import capstone

RAW_MAX = 255.0   # MNIST as loaded: uint8 pixels, 0 to 255


@dataclass(frozen=True)
class DigitsNet:
    """Digits ``x (N, 1, 8, 8)``, labels, and the layers' weights, all float64 NumPy."""

    x: np.ndarray
    labels: np.ndarray
    w: np.ndarray  # (F, 1, 3, 3)
    b: np.ndarray  # (F,)
    V: np.ndarray  # (10, F * 5 * 5)
    c: np.ndarray  # (10,)

    def loss(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(L, relu on, pool winners)`` with conv weights ``w``, the rest fixed."""
        z = F.conv2d(torch.from_numpy(self.x), w, torch.from_numpy(self.b))
        pooled, winners = F.max_pool2d(F.relu(z), 2, stride=1, return_indices=True)
        logits = pooled.flatten(1) @ torch.from_numpy(self.V).T + torch.from_numpy(self.c)
        return F.cross_entropy(logits, torch.from_numpy(self.labels)), z > 0, winners

    def loss_and_pattern(self) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
        """``w -> (L, pattern)``: the switch pattern is the ReLU flags, then the pool winners."""
        def loss_and_pattern(w: np.ndarray) -> tuple[float, np.ndarray]:
            loss, on, winners = self.loss(torch.tensor(np.asarray(w, dtype=np.float64)))
            return float(loss), np.concatenate([on.flatten().numpy().astype(np.int64),
                                                winners.flatten().numpy()])
        return loss_and_pattern

    def gradient(self) -> np.ndarray:
        """``dL/dw`` by autograd."""
        w = torch.tensor(self.w, requires_grad=True)
        self.loss(w)[0].backward()
        return w.grad.numpy()

    def tied_windows(self) -> tuple[int, int]:
        """``(ties, windows)``: pool windows whose two largest entries after ReLU are equal."""
        a = F.relu(F.conv2d(torch.from_numpy(self.x), torch.from_numpy(self.w),
                            torch.from_numpy(self.b))).numpy()
        top2 = np.sort(np.lib.stride_tricks.sliding_window_view(a, (2, 2), axis=(2, 3)).reshape(
            *a.shape[:2], a.shape[2] - 1, a.shape[3] - 1, 4), axis=-1)[..., -2:]
        return int(np.sum(top2[..., 0] == top2[..., 1])), int(top2[..., 0].size)

    def largest_step_of_z(self, eps: float) -> float:
        """How far one step ``eps`` of one weight can move a pre-activation: eps * max |x|."""
        return eps * float(np.max(np.abs(self.x)))


def digits_net(scale: float = RAW_MAX, N: int = 64, filters: int = 4, seed: int = 0) -> DigitsNet:
    """``N`` training digits with pixels in ``[0, scale]`` and PyTorch's default initialisation."""
    data = capstone.digits()
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(data.y_train), N, replace=False)
    x = data.x_train[pick].numpy() * scale
    size = filters * 5 * 5

    def uniform(bound: float, *shape: int) -> np.ndarray:
        return rng.uniform(-bound, bound, shape)

    return DigitsNet(x, data.y_train[pick].numpy(), uniform(1 / 3, filters, 1, 3, 3),
                     uniform(1 / 3, filters), uniform(size ** -0.5, 10, size),
                     uniform(size ** -0.5, 10))
