"""The case matrix of notebook 09: convolutions with dilation and groups, and transposed ones.

Arrays are random and seeded like :mod:`course.cases` (the case name, a salt and
``COURSE_GRADING_SEED``), with i.i.d. zero-mean channels and a random upstream gradient. Each group
varies one idea so that a bug loses the cells of its concept: "dilation" keeps ``groups = 1``,
"groups" keeps ``dilation = 1``, stride 1 and pad 0; "plain" has neither (notebook 05's layer);
"together" mixes everything (N >= 2, strides 2-3 that don't divide, H != W, KH != KW).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course.cases import ConvCase, rng_for


@dataclass(frozen=True)
class GroupedCase(ConvCase):
    """A :class:`~course.cases.ConvCase` with dilation and groups: ``w (F, C // groups, KH, KW)``.

    Defaults to ``N = 2``, ``C = 2``, ``F = 3`` (the batch and both channel axes always in play).
    """

    N: int = 2
    C: int = 2
    F: int = 3
    dilation: int = 1
    groups: int = 1

    @property
    def out_hw(self) -> tuple[int, int]:
        """``(HO, WO)``: ``(H + 2 pad - dilation (KH - 1) - 1) // stride + 1``, as PyTorch."""
        return tuple((n + 2 * self.pad - self.dilation * (k - 1) - 1) // self.stride + 1
                     for n, k in ((self.H, self.KH), (self.W, self.KW)))

    def describe(self) -> str:
        """A label, e.g. ``x (2,4,9,8), w (6,2,3,2), stride 2, pad 1, dilation 2, groups 2``."""
        return (f"x ({self.N},{self.C},{self.H},{self.W}), "
                f"w ({self.F},{self.C // self.groups},{self.KH},{self.KW}), stride {self.stride}, "
                f"pad {self.pad}, dilation {self.dilation}, groups {self.groups}")


@dataclass(frozen=True)
class TransposedCase:
    """``x (N, C_in, H, W)`` and ``w (C_in, C_out, KH, KW)`` of a transposed convolution."""

    name: str
    H: int
    W: int
    KH: int
    KW: int
    stride: int = 1
    pad: int = 0
    output_padding: int = 0
    N: int = 2
    C_in: int = 3
    C_out: int = 2

    @property
    def out_hw(self) -> tuple[int, int]:
        """``(H - 1) stride - 2 pad + KH + output_padding`` and the same for the width."""
        return tuple((n - 1) * self.stride - 2 * self.pad + k + self.output_padding
                     for n, k in ((self.H, self.KH), (self.W, self.KW)))

    def describe(self) -> str:
        """A short label, e.g. ``x (2,3,4,5), w (3,2,3,3), stride 2, pad 1, output_padding 1``."""
        return (f"x ({self.N},{self.C_in},{self.H},{self.W}), "
                f"w ({self.C_in},{self.C_out},{self.KH},{self.KW}), stride {self.stride}, "
                f"pad {self.pad}, output_padding {self.output_padding}")


def grouped_arrays(case: GroupedCase, salt: str = "") -> dict[str, np.ndarray]:
    """Seeded ``x``, ``w``, ``b`` and a random ``dout`` for a grouped, dilated case."""
    rng = rng_for(case, salt)
    return {"x": rng.standard_normal((case.N, case.C, case.H, case.W)),
            "w": rng.standard_normal((case.F, case.C // case.groups, case.KH, case.KW)),
            "b": rng.standard_normal(case.F),
            "dout": rng.standard_normal((case.N, case.F, *case.out_hw))}


def transposed_arrays(case: TransposedCase, salt: str = "") -> dict[str, np.ndarray]:
    """Seeded ``x``, ``w`` and a random ``dout`` (shaped like the output) for a transposed case."""
    rng = rng_for(case, salt)
    return {"x": rng.standard_normal((case.N, case.C_in, case.H, case.W)),
            "w": rng.standard_normal((case.C_in, case.C_out, case.KH, case.KW)),
            "dout": rng.standard_normal((case.N, case.C_out, *case.out_hw))}


G = GroupedCase
GROUPED = {
    "plain": [
        G("dg-plain-7x9-3x2", 7, 9, 3, 2, N=2, C=3, F=4),
        G("dg-plain-8x8-3x3-s2p1", 8, 8, 3, 3, stride=2, pad=1, N=2, C=2, F=3),
        G("dg-plain-9x7-4x3-s3p2", 9, 7, 4, 3, stride=3, pad=2, N=3, C=4, F=2),
    ],
    "dilation": [
        G("dg-d2-9x10-3x3", 9, 10, 3, 3, dilation=2),
        G("dg-d3-11x9-3x2", 11, 9, 3, 2, dilation=3, C=3, F=2),
        G("dg-d2-7x8-2x3-p1", 7, 8, 2, 3, pad=1, dilation=2),
        G("dg-d2-12x11-3x3-s2", 12, 11, 3, 3, stride=2, dilation=2, N=3),
        G("dg-d3-13x10-2x2-s2p2", 13, 10, 2, 2, stride=2, pad=2, dilation=3, C=3, F=4),
    ],
    "groups": [
        G("dg-g2-6x7-3x2", 6, 7, 3, 2, groups=2, C=4, F=6),
        G("dg-depthwise-7x6-3x3", 7, 6, 3, 3, groups=3, C=3, F=3),
        G("dg-depthwise-x2-6x6-2x3", 6, 6, 2, 3, groups=2, C=2, F=4),
        G("dg-g3-5x7-2x2", 5, 7, 2, 2, groups=3, C=6, F=3, N=3),
    ],
    "together": [
        G("dg-all-11x13-3x2-s2p1-d2-g2", 11, 13, 3, 2, stride=2, pad=1, dilation=2, groups=2,
          C=4, F=6),
        G("dg-all-14x12-2x3-s3-d3-g3", 14, 12, 2, 3, stride=3, dilation=3, groups=3, N=3, C=3,
          F=6),
        G("dg-all-10x9-3x3-s2p2-d2-g2", 10, 9, 3, 3, stride=2, pad=2, dilation=2, groups=2, C=6,
          F=4),
        G("dg-all-depthwise-12x11-3x2-s3p1-d2", 12, 11, 3, 2, stride=3, pad=1, dilation=2,
          groups=4, C=4, F=4),
        G("dg-all-mobilenet-16x16-3x3-p2-d2", 16, 16, 3, 3, pad=2, dilation=2, groups=8, C=8,
          F=8),
    ],
}

T = TransposedCase
TRANSPOSED = {
    "basic": [
        T("tr-basic-4x5-3x2", 4, 5, 3, 2),
        T("tr-basic-5x3-2x3", 5, 3, 2, 3, N=3, C_in=2, C_out=4),
        T("tr-basic-3x3-3x3", 3, 3, 3, 3, C_in=1, C_out=3),
    ],
    "stride_pad": [
        T("tr-s2p1-4x5-3x3", 4, 5, 3, 3, stride=2, pad=1),
        T("tr-s3-3x4-2x3", 3, 4, 2, 3, stride=3, C_in=2, C_out=3),
        T("tr-s2p2-5x4-4x3", 5, 4, 4, 3, stride=2, pad=2, C_in=2, C_out=2),
        T("tr-s3p1-4x3-3x2", 4, 3, 3, 2, stride=3, pad=1, N=3, C_in=4, C_out=3),
    ],
    "output_padding": [
        T("tr-s2-op1-4x5-3x3", 4, 5, 3, 3, stride=2, output_padding=1),
        T("tr-s3-op2-3x4-3x2", 3, 4, 3, 2, stride=3, output_padding=2, C_in=2, C_out=3),
        T("tr-s3-op1-4x3-2x3", 4, 3, 2, 3, stride=3, output_padding=1, N=3, C_in=3, C_out=4),
    ],
    "upsampling": [  # the usual decoder layer: kernel 3, stride 2, pad 1, output_padding 1
        T("tr-up-s2p1op1-6x5-3x3", 6, 5, 3, 3, stride=2, pad=1, output_padding=1, C_in=4,
          C_out=3),
        T("tr-up-s2p1op1-8x8-3x3", 8, 8, 3, 3, stride=2, pad=1, output_padding=1, N=2, C_in=3,
          C_out=5),
    ],
}
