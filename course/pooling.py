"""Notebook 08's truths and cases: max-pool and average-pool by PyTorch in float64, and the
pooling case matrix.

Shapes are NCHW: ``x (N, C, H, W)``, a window ``(KH, KW)``, an int ``stride``, no padding, and
``out`` and ``dout (N, C, HO, WO)`` with ``HO = (H - KH) // stride + 1`` (the same for ``WO``).
Rows and columns that no window reads (when the stride does not divide ``H - KH``) get a
gradient of exactly zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from course.cases import rng_for

torch.set_num_threads(1)

POOLS = {"max": F.max_pool2d, "avg": F.avg_pool2d}


@dataclass(frozen=True)
class PoolCase:
    """One configuration: ``x (N, C, H, W)``, a ``(KH, KW)`` window moved by ``stride``."""

    name: str
    N: int
    C: int
    H: int
    W: int
    KH: int
    KW: int
    stride: int
    ties: bool = False  # x drawn from a few whole numbers, so that windows hold equal maxima

    @property
    def window(self) -> tuple[int, int]:
        return (self.KH, self.KW)

    @property
    def out_hw(self) -> tuple[int, int]:
        return (self.H - self.KH) // self.stride + 1, (self.W - self.KW) // self.stride + 1

    def describe(self) -> str:
        """A short label, e.g. ``x (2,3,7,5), window 3x2, stride 1``."""
        ties = ", with ties" if self.ties else ""
        return (f"x ({self.N},{self.C},{self.H},{self.W}), window {self.KH}x{self.KW}, "
                f"stride {self.stride}{ties}")


def pool_arrays(case: PoolCase, salt: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Seeded ``(x, dout)`` for a case: a random upstream gradient, never all ones.

    ``x`` is standard normal (no two entries equal), or, for a tie case, whole numbers 0 to 2,
    so that most windows hold their maximum more than once.
    """
    rng = rng_for(case, salt)
    shape = (case.N, case.C, case.H, case.W)
    x = rng.integers(0, 3, shape).astype(np.float64) if case.ties else rng.standard_normal(shape)
    return x, rng.standard_normal((case.N, case.C, *case.out_hw))


def pool_forward(kind: str, x: np.ndarray, window: tuple[int, int], stride: int) -> np.ndarray:
    """``max_pool2d`` or ``avg_pool2d`` (``kind`` is "max" or "avg") of ``x``, in float64."""
    with torch.no_grad():
        return POOLS[kind](torch.tensor(x, dtype=torch.float64), window, stride).numpy()


def pool_backward(kind: str, dout: np.ndarray, x: np.ndarray, window: tuple[int, int],
                  stride: int) -> np.ndarray:
    """``dx`` of ``L = <pool(x), dout>`` by autograd: PyTorch's routing, ties included."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    POOLS[kind](xt, window, stride).backward(torch.tensor(dout, dtype=torch.float64))
    return xt.grad.numpy()


# The case matrix, by concept: each group varies one thing, so that a bug loses the cells of the
# idea it breaks. "basic": stride = window, sizes that divide, no ties (N >= 2, C >= 2, H != W).
# "overlap": stride < window (stride 1 included), sizes that divide, non-square windows.
# "nondivisible": stride = window, leftover rows and columns that no window reads.
# "ties": stride = window, sizes that divide, whole-number inputs with repeated maxima.
# "forward" mixes all of them.
POOL_CASES = {
    "basic": [
        PoolCase("pool-basic-n2-c3-4x6-2x2", 2, 3, 4, 6, 2, 2, 2),
        PoolCase("pool-basic-n3-c2-6x9-3x3", 3, 2, 6, 9, 3, 3, 3),
        PoolCase("pool-basic-n2-c2-8x4-4x4", 2, 2, 8, 4, 4, 4, 4),
        PoolCase("pool-basic-n2-c4-6x2-2x2", 2, 4, 6, 2, 2, 2, 2),
    ],
    "overlap": [
        PoolCase("pool-overlap-n2-c3-5x7-2x2-s1", 2, 3, 5, 7, 2, 2, 1),
        PoolCase("pool-overlap-n3-c2-6x5-3x2-s1", 3, 2, 6, 5, 3, 2, 1),
        PoolCase("pool-overlap-n2-c2-7x9-3x3-s2", 2, 2, 7, 9, 3, 3, 2),
        PoolCase("pool-overlap-n2-c3-9x7-3x5-s2", 2, 3, 9, 7, 3, 5, 2),
        PoolCase("pool-overlap-n2-c2-10x7-4x4-s3", 2, 2, 10, 7, 4, 4, 3),
    ],
    "nondivisible": [
        PoolCase("pool-nondiv-n2-c2-7x5-2x2", 2, 2, 7, 5, 2, 2, 2),
        PoolCase("pool-nondiv-n2-c3-8x10-3x3", 2, 3, 8, 10, 3, 3, 3),
        PoolCase("pool-nondiv-n3-c2-5x9-2x2", 3, 2, 5, 9, 2, 2, 2),
        PoolCase("pool-nondiv-n2-c2-11x7-4x4", 2, 2, 11, 7, 4, 4, 4),
    ],
    "ties": [
        PoolCase("pool-ties-n2-c2-4x6-2x2", 2, 2, 4, 6, 2, 2, 2, ties=True),
        PoolCase("pool-ties-n2-c3-6x6-3x3", 2, 3, 6, 6, 3, 3, 3, ties=True),
        PoolCase("pool-ties-n3-c2-6x4-2x2", 3, 2, 6, 4, 2, 2, 2, ties=True),
        PoolCase("pool-ties-n2-c2-8x6-2x2", 2, 2, 8, 6, 2, 2, 2, ties=True),
    ],
    "forward": [
        PoolCase("pool-fwd-n2-c3-4x6-2x2", 2, 3, 4, 6, 2, 2, 2),
        PoolCase("pool-fwd-n2-c2-7x9-3x3-s2", 2, 2, 7, 9, 3, 3, 2),
        PoolCase("pool-fwd-n3-c2-6x5-3x2-s1", 3, 2, 6, 5, 3, 2, 1),
        PoolCase("pool-fwd-n2-c2-7x5-2x2", 2, 2, 7, 5, 2, 2, 2),
        PoolCase("pool-fwd-n2-c3-9x7-3x5-s2", 2, 3, 9, 7, 3, 5, 2),
        PoolCase("pool-fwd-n2-c2-11x7-4x4", 2, 2, 11, 7, 4, 4, 4),
    ],
}
