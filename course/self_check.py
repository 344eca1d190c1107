"""The ungraded self-check of notebooks 03-06: your notebook-02 checkers on your backward pass.

The checkers are passed in (the student's own, or :mod:`course.gradient_tools`), so what is
printed is their verdict, not the course's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course.checks import scaled_error

# What a right gradient gives (notebook 02): the adjoint identity holds to round-off; a random
# direction's central difference is good to about 1e-10 (1e-6 leaves room); a per-entry central
# difference carries a rounding error of about u |L| / eps, which, relative to a small gradient
# entry (db is a sum whose terms cancel), reaches 1e-9: 1e-8 leaves room.
BOUNDS = {"adjoint": 1e-10, "directional": 1e-6, "numerical": 1e-8}


def self_check(forward: Callable, backward: Callable, x: np.ndarray, w: np.ndarray,
               b: np.ndarray, dout: np.ndarray, *, numerical_gradient: Callable,
               directional_check: Callable, adjoint_check: Callable) -> tuple | None:
    """Check ``backward(dout, x, w) = (dx, dw, db)`` of ``forward(x, w, b)`` with the student's
    own checkers (notebook 02's signatures). Prints one line per gradient and a verdict; returns
    the gradients (None, with a note, while ``backward`` is the unfilled stub).
    """
    try:
        grads = backward(dout, x, w)
    except NotImplementedError as error:
        print("Not run yet:", error)
        return None
    b = np.asarray(b, dtype=np.float64)
    zero_b = np.zeros_like(b)
    along = {"dx": lambda a: forward(a, w, b), "dw": lambda a: forward(x, a, b),
             "db": lambda a: forward(x, w, a)}
    linear = {"dx": lambda a: forward(a, w, zero_b), "dw": lambda a: forward(x, a, zero_b)}
    at = {"dx": x, "dw": w, "db": b}
    passed = True
    for (name, point), grad in zip(at.items(), grads, strict=True):
        if grad is None or np.size(grad) != np.size(point):
            print(f"{name}: not checked: expected shape {np.shape(point)}, got "
                  f"{None if grad is None else np.shape(grad)}")
            passed = False
            continue
        grad = np.reshape(np.asarray(grad, dtype=np.float64), np.shape(point))
        found = {"numerical": scaled_error(
            grad, numerical_gradient(along[name], point, dout))}
        found["directional"] = max(directional_check(along[name], point, dout, grad, seed=seed)
                                   for seed in range(3))
        if name in linear:
            found["adjoint"] = adjoint_check(linear[name], point, dout, grad)
        ok = all(found[k] <= BOUNDS[k] for k in found)
        passed &= ok
        shown = ", ".join(f"{k} {v:.1e} (right: <= {BOUNDS[k]:g})" for k, v in found.items())
        print(f"{name}: {shown}   {'agrees' if ok else 'DISAGREES'}")
    print("Your checks find your backward pass right." if passed else
          "Your checks disagree with your backward pass: one of the two is wrong. Your "
          "checkers passed notebook 02's tests (or are the course's): look at the gradient "
          "marked DISAGREES first.")
    return grads
