"""Correct: flat indexing on a float copy; a unit-length direction from the legacy RandomState."""

import numpy as np

EXPECTED_FAILURES = []


def numerical_gradient(f, x, dout, eps=1e-5):
    x = np.array(x, dtype=np.float64)
    flat = x.reshape(-1)  # a view: writing to flat writes to x
    grad = np.zeros(flat.size)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + eps
        plus = np.sum(f(x) * dout)
        flat[k] = old - eps
        minus = np.sum(f(x) * dout)
        flat[k] = old
        grad[k] = (plus - minus) / (2 * eps)
    return grad.reshape(x.shape)


def directional_check(f, x, dout, dx, eps=1e-5, seed=0):
    x = np.asarray(x, dtype=np.float64)
    v = np.random.RandomState(seed + 12345).randn(*x.shape)
    v /= np.linalg.norm(v)
    numeric = (np.sum(f(x + eps * v) * dout) - np.sum(f(x - eps * v) * dout)) / (2 * eps)
    analytic = np.vdot(dx, v)
    return abs(numeric - analytic) / max(1e-12, abs(numeric) + abs(analytic))


def adjoint_check(f, x, dout, dx):
    p = np.vdot(f(x), dout)
    q = np.vdot(x, dx)
    return abs(p - q) / max(abs(p) + abs(q), 1e-12)
