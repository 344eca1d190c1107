"""Right formulas computed in float32: every gradient is off by about 1e-7, outside 1e-9."""

import numpy as np

EXPECTED_FAILURES = ["test_backward_db", "test_backward_dw", "test_backward_dx",
                     "test_backward_nonsquare"]


def conv2d_single_backward(dout, x, w):
    dout, x, w = (np.asarray(a, dtype=np.float32) for a in (dout, x, w))
    KH, KW = w.shape
    HO, WO = dout.shape
    dx = np.zeros(x.shape, dtype=np.float32)
    dw = np.zeros(w.shape, dtype=np.float32)
    for i in range(HO):
        for j in range(WO):
            dx[i:i + KH, j:j + KW] += dout[i, j] * w
            dw += dout[i, j] * x[i:i + KH, j:j + KW]
    return dx, dw, np.sum(dout)
