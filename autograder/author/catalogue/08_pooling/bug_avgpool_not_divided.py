"""Average-pool's backward gives every entry of the window all of dout: not divided by KH*KW."""

import numpy as np

EXPECTED_FAILURES = ["test_avgpool_backward", "test_avgpool_backward_nondivisible",
                     "test_avgpool_backward_overlap"]


def avgpool_backward(dout, x_shape, window, stride):
    KH, KW = window
    _, _, HO, WO = dout.shape
    dx = np.zeros(x_shape)
    for i in range(HO):
        for j in range(WO):
            dx[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW] += (
                dout[:, :, i, j, None, None])                        # should be / (KH * KW)
    return dx
