"""Scans each window with >=, so a tie's gradient goes to the LAST maximum, not PyTorch's first."""

import numpy as np

EXPECTED_FAILURES = ["test_maxpool_backward_ties"]


def maxpool_backward(dout, x, window, stride):
    KH, KW = window
    N, C, HO, WO = dout.shape
    dx = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            for i in range(HO):
                for j in range(WO):
                    best, where = -np.inf, None
                    for u in range(KH):
                        for v in range(KW):
                            value = x[n, c, i * stride + u, j * stride + v]
                            if value >= best:                      # should be >
                                best, where = value, (i * stride + u, j * stride + v)
                    dx[n, c, where[0], where[1]] += dout[n, c, i, j]
    return dx
