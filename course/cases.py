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

# Multi-channel cases (notebook 05), NCHW with w (F, C, KH, KW); arrays() draws i.i.d. zero-mean
# channels and a random dout, so a channel-indexing bug cannot hide behind correlated channels.
# Each group varies one axis and keeps the others at 1, so that a bug loses only the cells of its
# concept: channel bugs need C > 1, filter bugs F > 1, batch bugs N > 1. These groups are square;
# "single" (non-square, N = C = F = 1) and "together" (N >= 2, C != F, stride, padding, H != W,
# KH != KW) mix the rest, and "forum" is the 5x100x100 input with 10 filters of 5x5x5.
MULTI = {
    "single": [
        ConvCase("multi-single-6x7-3x2", 6, 7, 3, 2),
        ConvCase("multi-single-5x5-3x3", 5, 5, 3, 3),
        ConvCase("multi-single-7x6-2x4", 7, 6, 2, 4),
        ConvCase("multi-single-4x4-4x4", 4, 4, 4, 4),
    ],
    "channels": [
        ConvCase("multi-c3-6x6-3x3", 6, 6, 3, 3, C=3),
        ConvCase("multi-c2-5x5-2x2", 5, 5, 2, 2, C=2),
        ConvCase("multi-c4-7x7-3x3", 7, 7, 3, 3, C=4),
        ConvCase("multi-c5-4x4-4x4", 4, 4, 4, 4, C=5),
    ],
    "filters": [
        ConvCase("multi-f4-6x6-3x3", 6, 6, 3, 3, F=4),
        ConvCase("multi-f2-5x5-2x2", 5, 5, 2, 2, F=2),
        ConvCase("multi-f3-7x7-3x3", 7, 7, 3, 3, F=3),
        ConvCase("multi-f5-4x4-1x1", 4, 4, 1, 1, F=5),
    ],
    "channels_filters": [
        ConvCase("multi-c3-f4-6x6-3x3", 6, 6, 3, 3, C=3, F=4),
        ConvCase("multi-c2-f5-5x5-2x2", 5, 5, 2, 2, C=2, F=5),
        ConvCase("multi-c4-f2-7x7-3x3", 7, 7, 3, 3, C=4, F=2),
        ConvCase("multi-c5-f3-8x8-4x4", 8, 8, 4, 4, C=5, F=3),
    ],
    "batch": [
        ConvCase("multi-n2-6x6-3x3", 6, 6, 3, 3, N=2),
        ConvCase("multi-n3-5x5-2x2", 5, 5, 2, 2, N=3),
        ConvCase("multi-n4-7x7-3x3", 7, 7, 3, 3, N=4),
        ConvCase("multi-n5-4x4-4x4", 4, 4, 4, 4, N=5),
    ],
    "stride_pad": [
        ConvCase("multi-s2-7x7-3x3", 7, 7, 3, 3, stride=2),
        ConvCase("multi-p1-5x5-3x3", 5, 5, 3, 3, pad=1),
        ConvCase("multi-s2p1-8x8-3x3", 8, 8, 3, 3, stride=2, pad=1),
        ConvCase("multi-s3p2-9x9-4x4", 9, 9, 4, 4, stride=3, pad=2),
    ],
    "together": [
        ConvCase("multi-n2-c3-f4-7x9-3x2", 7, 9, 3, 2, N=2, C=3, F=4),
        ConvCase("multi-n3-c2-f5-8x8-3x3-s2p1", 8, 8, 3, 3, stride=2, pad=1, N=3, C=2, F=5),
        ConvCase("multi-n2-c4-f3-9x7-4x3-s3p2", 9, 7, 4, 3, stride=3, pad=2, N=2, C=4, F=3),
        ConvCase("multi-n4-c5-f2-6x6-1x1", 6, 6, 1, 1, N=4, C=5, F=2),
        ConvCase("multi-n2-c3-f6-10x8-5x4-s2", 10, 8, 5, 4, stride=2, N=2, C=3, F=6),
    ],
    "forum": [ConvCase("forum-5x100x100-10x5x5x5", 100, 100, 5, 5, N=1, C=5, F=10)],
}

# Multi-channel backward cases for the vectorised backward (notebook 06), whose exercise is col2im
# generalised to a stride and a padding: every case has a stride > 1 or a pad > 0, so an
# answer that only glues the notebook's stride-1, pad-0 helpers together passes no test cell.
# Every correctness case has N >= 2, C != F and i.i.d. random channels. "basic" holds square
# layers as networks use them, sizes that divide: a 3x3 "same" convolution (stride 1, pad 1) and
# downsampling at stride 2. "stride" (pad 0, sizes that don't divide), "pad" (stride 1) and
# "stride_pad" (both) are square; "nonsquare" mixes strides 1 to 3 and pads 0 to 2 with H != W and
# KH != KW. "speed" holds the mid-size cases the speed check times: 3x3 "same" convolutions
# (stride 1, pad 1) of one image and one channel, many output pixels and little work each (a loop
# pays per pixel, im2col does not). They are padded, so the stride-1, pad-0 helpers fail them, and
# not strided: at stride s, x has s^2 pixels per output pixel, and the re-check sends x over a pipe
# (autograder/verify.py), which would eat the margin above the required speed-up. "visible" for
# the visible test, "hidden" for the hidden one.
FAST = {
    "basic": [
        ConvCase("fast-basic-s1p1-7x7-3x3", 7, 7, 3, 3, pad=1, N=2, C=3, F=4),
        ConvCase("fast-basic-s2p1-9x9-3x3", 9, 9, 3, 3, stride=2, pad=1, N=3, C=2, F=5),
        ConvCase("fast-basic-s2p0-7x7-1x1", 7, 7, 1, 1, stride=2, N=2, C=4, F=3),
        ConvCase("fast-basic-s2p1-8x8-4x4", 8, 8, 4, 4, stride=2, pad=1, N=4, C=1, F=2),
    ],
    "stride": [
        ConvCase("fast-stride2-8x8-3x3", 8, 8, 3, 3, stride=2, N=2, C=3, F=2),
        ConvCase("fast-stride3-10x10-3x3", 10, 10, 3, 3, stride=3, N=2, C=2, F=3),
        ConvCase("fast-stride2-9x9-2x2", 9, 9, 2, 2, stride=2, N=3, C=2, F=4),
        ConvCase("fast-stride3-11x11-4x4", 11, 11, 4, 4, stride=3, N=2, C=3, F=1),
    ],
    "pad": [
        ConvCase("fast-pad1-6x6-3x3", 6, 6, 3, 3, pad=1, N=2, C=3, F=2),
        ConvCase("fast-pad2-5x5-3x3", 5, 5, 3, 3, pad=2, N=2, C=2, F=3),
        ConvCase("fast-pad1-4x4-5x5", 4, 4, 5, 5, pad=1, N=3, C=1, F=2),
        ConvCase("fast-pad2-7x7-2x2", 7, 7, 2, 2, pad=2, N=2, C=2, F=4),
    ],
    "stride_pad": [
        ConvCase("fast-stride2-pad1-8x8-3x3", 8, 8, 3, 3, stride=2, pad=1, N=2, C=3, F=2),
        ConvCase("fast-stride3-pad2-10x10-5x5", 10, 10, 5, 5, stride=3, pad=2, N=2, C=2, F=3),
        ConvCase("fast-stride2-pad1-7x7-4x4", 7, 7, 4, 4, stride=2, pad=1, N=3, C=2, F=1),
    ],
    "nonsquare": [
        ConvCase("fast-nonsq-s2p1-6x9-3x2", 6, 9, 3, 2, stride=2, pad=1, N=2, C=3, F=2),
        ConvCase("fast-nonsq-s1p1-10x5-2x4", 10, 5, 2, 4, pad=1, N=2, C=2, F=3),
        ConvCase("fast-nonsq-s2p0-7x8-4x1", 7, 8, 4, 1, stride=2, N=3, C=1, F=2),
        ConvCase("fast-nonsq-s3p2-5x11-1x5", 5, 11, 1, 5, stride=3, pad=2, N=2, C=2, F=4),
    ],
    "speed": [
        ConvCase("fast-speed-visible-s1p1-56x56-3x3", 56, 56, 3, 3, pad=1, F=2),
        ConvCase("fast-speed-hidden-s1p1-80x80-3x3", 80, 80, 3, 3, pad=1, F=2),
    ],
}

# Single-channel backward cases with stride and padding (notebook 04), grouped by concept so that
# a bug loses the cells of the idea it breaks. Only the "pad" group (stride 1) has pad 0 or
# pad >= 2: the other groups use pad 1, so a crop that is empty at pad 0 or a pad hard-coded to 1
# fails the padding cell alone. "stride" sizes divide exactly; "nondivisible" ones leave rows and
# columns no window reads (mostly more of them than the padding, so that they fall inside x).
# "nonsquare" has stride 1 and includes x 5x6 with w 3x4, whose output is square (a transposed
# dout fits there). The "seed_*" groups grade the find-the-bug section: "seed_im2col" holds valid
# non-square inputs that a width checked against KH refuses (x 5x6, w 3x4, stride 2 first);
# "seed_crop" windows never overlap at stride 1 (1x1 kernels, or one window), "seed_stride" ones
# never overlap at their stride (KH, KW <= stride) and "seed_scatter" ones overlap at stride 1;
# both have pad 1, so each planted bug (or a crop hard-coded to 1) fails its own group only.
SINGLE_STRIDED = {
    "stride": [
        ConvCase("strided-s2p1-7x7-3x3", 7, 7, 3, 3, stride=2, pad=1),
        ConvCase("strided-s3p1-10x10-3x3", 10, 10, 3, 3, stride=3, pad=1),
        ConvCase("strided-s2p1-9x9-5x5", 9, 9, 5, 5, stride=2, pad=1),
        ConvCase("strided-s3p1-9x9-2x2", 9, 9, 2, 2, stride=3, pad=1),
        ConvCase("strided-s2p1-8x8-4x4", 8, 8, 4, 4, stride=2, pad=1),
    ],
    "pad": [
        ConvCase("strided-p0-6x6-3x3", 6, 6, 3, 3),
        ConvCase("strided-p2-4x4-3x3", 4, 4, 3, 3, pad=2),
        ConvCase("strided-p1-5x5-3x3", 5, 5, 3, 3, pad=1),
        ConvCase("strided-p0-5x5-2x2", 5, 5, 2, 2),
        ConvCase("strided-p1-3x3-5x5", 3, 3, 5, 5, pad=1),
        ConvCase("strided-p3-4x4-2x2", 4, 4, 2, 2, pad=3),
    ],
    "nondivisible": [
        ConvCase("strided-s3p1-9x9-3x3", 9, 9, 3, 3, stride=3, pad=1),
        ConvCase("strided-s3p1-8x8-2x2", 8, 8, 2, 2, stride=3, pad=1),
        ConvCase("strided-s3p1-10x10-4x4", 10, 10, 4, 4, stride=3, pad=1),
        ConvCase("strided-s4p1-11x11-3x3", 11, 11, 3, 3, stride=4, pad=1),
        ConvCase("strided-s4p1-7x7-2x2", 7, 7, 2, 2, stride=4, pad=1),
        ConvCase("strided-s2p1-8x8-3x3", 8, 8, 3, 3, stride=2, pad=1),
    ],
    "nonsquare": [
        ConvCase("strided-p1-5x6-3x4", 5, 6, 3, 4, pad=1),
        ConvCase("strided-p1-6x9-3x2", 6, 9, 3, 2, pad=1),
        ConvCase("strided-p1-9x4-2x3", 9, 4, 2, 3, pad=1),
        ConvCase("strided-p1-7x5-1x4", 7, 5, 1, 4, pad=1),
        ConvCase("strided-p1-4x8-4x1", 4, 8, 4, 1, pad=1),
    ],
    "db": [
        ConvCase("strided-db-s1p1-6x6-3x3", 6, 6, 3, 3, pad=1),
        ConvCase("strided-db-s2p1-7x7-3x3", 7, 7, 3, 3, stride=2, pad=1),
        ConvCase("strided-db-s3p1-7x7-3x3", 7, 7, 3, 3, stride=3, pad=1),
    ],
    "seed_im2col": [
        ConvCase("seed-im2col-5x6-3x4-s2p0", 5, 6, 3, 4, stride=2),
        ConvCase("seed-im2col-7x5-3x4-s3p1", 7, 5, 3, 4, stride=3, pad=1),
        ConvCase("seed-im2col-8x9-4x5-s3p1", 8, 9, 4, 5, stride=3, pad=1),
        ConvCase("seed-im2col-9x6-5x2-s2p1", 9, 6, 5, 2, stride=2, pad=1),
        ConvCase("seed-im2col-6x7-2x5-s2p0", 6, 7, 2, 5, stride=2),
    ],
    "seed_crop": [
        ConvCase("seed-crop-5x5-1x1-p0", 5, 5, 1, 1),
        ConvCase("seed-crop-4x6-1x1-p2", 4, 6, 1, 1, pad=2),
        ConvCase("seed-crop-3x4-3x4-p0", 3, 4, 3, 4),
        ConvCase("seed-crop-4x5-6x7-p1", 4, 5, 6, 7, pad=1),
        ConvCase("seed-crop-6x5-1x1-p1", 6, 5, 1, 1, pad=1),
    ],
    "seed_stride": [
        ConvCase("seed-stride-7x7-2x2-s2p1", 7, 7, 2, 2, stride=2, pad=1),
        ConvCase("seed-stride-8x8-2x2-s3p1", 8, 8, 2, 2, stride=3, pad=1),
        ConvCase("seed-stride-9x9-3x3-s3p1", 9, 9, 3, 3, stride=3, pad=1),
        ConvCase("seed-stride-6x9-2x3-s3p1", 6, 9, 2, 3, stride=3, pad=1),
        ConvCase("seed-stride-10x7-2x1-s2p1", 10, 7, 2, 1, stride=2, pad=1),
    ],
    "seed_scatter": [
        ConvCase("seed-scatter-5x5-3x3-p1", 5, 5, 3, 3, pad=1),
        ConvCase("seed-scatter-6x4-2x3-p1", 6, 4, 2, 3, pad=1),
        ConvCase("seed-scatter-4x7-3x2-p1", 4, 7, 3, 2, pad=1),
        ConvCase("seed-scatter-5x5-5x5-p1", 5, 5, 5, 5, pad=1),
        ConvCase("seed-scatter-3x3-2x2-p1", 3, 3, 2, 2, pad=1),
    ],
}
