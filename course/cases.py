"""The case matrix: one table of shapes that every check, bug test and benchmark draws from.

Each row is chosen to kill a known bug: pad 0 (a ``[pad:-pad]`` crop is empty), strides 2 and 3 with
sizes that don't divide (unread rows and columns), H != W and KH != KW (swapped axes), C != F
(swapped channel and filter axes), N >= 2 (batch averaged or dropped), asymmetric kernels (a flip
that should or should not be there). Arrays are random and seeded: the same seed gives the same
cases, so a regrade gives the same score, and an instructor may set ``COURSE_GRADING_SEED`` to draw
cases that no published solution run has seen.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass

import numpy as np

SEED_VARIABLE = "COURSE_GRADING_SEED"


@dataclass(frozen=True)
class ConvCase:
    """One configuration: ``x (N, C, H, W)``, ``w (F, C, KH, KW)``, ``stride``, ``pad``."""

    name: str
    H: int
    W: int
    KH: int
    KW: int
    stride: int = 1
    pad: int = 0
    N: int = 1
    C: int = 1
    F: int = 1

    @property
    def out_hw(self) -> tuple[int, int]:
        """``(HO, WO)`` of this case, as PyTorch computes it."""
        return ((self.H + 2 * self.pad - self.KH) // self.stride + 1,
                (self.W + 2 * self.pad - self.KW) // self.stride + 1)

    def describe(self, single: bool = False) -> str:
        """A short human-readable label, e.g. ``x 7x9, w 3x2, stride 2, pad 1``."""
        if single:
            shapes = f"x {self.H}x{self.W}, w {self.KH}x{self.KW}"
        else:
            shapes = (f"x ({self.N},{self.C},{self.H},{self.W}), "
                      f"w ({self.F},{self.C},{self.KH},{self.KW})")
        return f"{shapes}, stride {self.stride}, pad {self.pad}"


@dataclass(frozen=True)
class CaseArrays:
    """Random float64 arrays for one case; ``dout`` is a random upstream gradient, not all ones."""

    x: np.ndarray
    w: np.ndarray
    b: np.ndarray
    dout: np.ndarray


def grading_seed() -> int:
    """The instructor's seed from ``COURSE_GRADING_SEED`` (default 0)."""
    raw = os.environ.get(SEED_VARIABLE, "0").strip() or "0"
    try:
        return int(raw)
    except ValueError:
        return zlib.crc32(raw.encode())


def rng_for(case: ConvCase, salt: str = "") -> np.random.Generator:
    """A generator seeded by the case name, a salt and the grading seed: stable across runs."""
    key = zlib.crc32(f"{case.name}/{salt}".encode())
    return np.random.default_rng([grading_seed(), key])


def arrays(case: ConvCase, salt: str = "") -> CaseArrays:
    """Seeded random arrays of the case's shapes (NCHW)."""
    rng = rng_for(case, salt)
    HO, WO = case.out_hw
    return CaseArrays(
        x=rng.standard_normal((case.N, case.C, case.H, case.W)),
        w=rng.standard_normal((case.F, case.C, case.KH, case.KW)),
        b=rng.standard_normal(case.F),
        dout=rng.standard_normal((case.N, case.F, HO, WO)),
    )


# Single-channel cases, grouped by the concept a test cell grades. Each group varies one thing, so
# a bug loses the points of the concept it breaks: stride and padding groups keep H == W and
# KH == KW, the non-square group keeps stride 1 and pad 0.
SINGLE = {
    "basic": [
        ConvCase("basic-5x5-3x3", 5, 5, 3, 3),
        ConvCase("basic-6x6-2x2", 6, 6, 2, 2),
        ConvCase("basic-4x4-4x4", 4, 4, 4, 4),
        ConvCase("basic-7x7-1x1", 7, 7, 1, 1),
    ],
    "stride": [
        ConvCase("stride2-7x7-3x3", 7, 7, 3, 3, stride=2),
        ConvCase("stride2-8x8-3x3", 8, 8, 3, 3, stride=2),
        ConvCase("stride3-10x10-3x3", 10, 10, 3, 3, stride=3),
        ConvCase("stride3-9x9-2x2", 9, 9, 2, 2, stride=3),
    ],
    "pad": [
        ConvCase("pad1-5x5-3x3", 5, 5, 3, 3, pad=1),
        ConvCase("pad2-4x4-3x3", 4, 4, 3, 3, pad=2),
        ConvCase("pad1-3x3-5x5", 3, 3, 5, 5, pad=1),
        ConvCase("pad1-6x6-2x2", 6, 6, 2, 2, pad=1),
    ],
    "stride_pad": [
        ConvCase("stride2-pad1-8x8-3x3", 8, 8, 3, 3, stride=2, pad=1),
        ConvCase("stride3-pad2-9x9-5x5", 9, 9, 5, 5, stride=3, pad=2),
        ConvCase("stride2-pad1-7x7-4x4", 7, 7, 4, 4, stride=2, pad=1),
        ConvCase("stride2-pad1-7x7-3x3", 7, 7, 3, 3, stride=2, pad=1),
        ConvCase("stride2-pad1-6x6-2x2", 6, 6, 2, 2, stride=2, pad=1),
    ],
    "nonsquare": [
        ConvCase("nonsq-5x9-2x4", 5, 9, 2, 4),
        ConvCase("nonsq-11x4-4x1", 11, 4, 4, 1),
        ConvCase("nonsq-6x7-3x2", 6, 7, 3, 2),
        ConvCase("nonsq-5x8-3x3", 5, 8, 3, 3),
        ConvCase("nonsq-6x6-2x5", 6, 6, 2, 5),
    ],
}

# (n, k, stride, pad) rows for the output-size formula, by concept.
OUTPUT_SIZE = {
    "basic": [(5, 3, 1, 0), (7, 1, 1, 0), (4, 4, 1, 0), (28, 5, 1, 0)],
    "stride_pad": [(5, 3, 1, 1), (7, 3, 2, 0), (8, 3, 2, 0), (10, 3, 3, 0), (9, 4, 2, 1),
                   (6, 5, 3, 2), (1, 3, 1, 1), (100, 5, 4, 0), (11, 2, 5, 3)],
}

# Single-channel backward cases (notebook 03): stride 1 and pad 0 throughout. The square group
# keeps H == W and KH == KW so that only the nonsquare group can catch mixed-up axes; both groups
# include a 1x1 kernel (no overlap between windows, no flip visible) and a kernel as large as the
# input (one window), so that a bug that is only right on those still fails on the others.
SINGLE_BACKWARD = {
    "square": [
        ConvCase("bwd-5x5-3x3", 5, 5, 3, 3),
        ConvCase("bwd-6x6-2x2", 6, 6, 2, 2),
        ConvCase("bwd-8x8-5x5", 8, 8, 5, 5),
        ConvCase("bwd-7x7-1x1", 7, 7, 1, 1),
        ConvCase("bwd-4x4-4x4", 4, 4, 4, 4),
    ],
    "nonsquare": [
        ConvCase("bwd-5x8-3x2", 5, 8, 3, 2),
        ConvCase("bwd-9x4-2x3", 9, 4, 2, 3),
        ConvCase("bwd-6x7-4x1", 6, 7, 4, 1),
        ConvCase("bwd-7x5-1x5", 7, 5, 1, 5),
        ConvCase("bwd-4x6-4x6", 4, 6, 4, 6),
    ],
}
