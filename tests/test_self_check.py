"""The self-check of notebooks 03-06: the course's working checkers pass notebook 02's graded
checks, and the self-check agrees with a right backward pass and flags a wrong one."""

import contextlib
import io
import re

import numpy as np
import pytest

from course import gradcheck_checks as gc
from course import gradient_tools, reference, self_check

TOOLS = {"numerical_gradient": gradient_tools.numerical_gradient,
         "directional_check": gradient_tools.directional_check,
         "adjoint_check": gradient_tools.adjoint_check}


def test_the_course_checkers_pass_notebook_02s_checks():
    with contextlib.redirect_stdout(io.StringIO()):
        gc.check_numerical_gradient(gradient_tools.numerical_gradient,
                                    gc.NUMERIC["elementwise"] + gc.NUMERIC["shapes"])
        gc.check_integer_input(gradient_tools.numerical_gradient, gc.INTEGER)
        gc.check_directional_accepts(gradient_tools.directional_check, gc.DIRECTIONAL["right"])
        gc.check_directional_rejects(gradient_tools.directional_check, gc.DIRECTIONAL["wrong"])
        gc.check_adjoint_exact(gradient_tools.adjoint_check, gc.ADJOINT["right"])
        gc.check_adjoint_rejects(gradient_tools.adjoint_check, gc.ADJOINT["wrong"])


def forward(x, w, b):
    return reference.conv2d(x, w, b, stride=2, pad=1)


def right(dout, x, w):
    return reference.conv2d_backward(dout, x, w, stride=2, pad=1)


def no_flip(dout, x, w):
    dx, dw, db = right(dout, x, w)
    return reference.conv2d_backward(dout, x, w[..., ::-1, ::-1], stride=2, pad=1)[0], dw, db


def stub(dout, x, w):
    raise NotImplementedError("write it first")


@pytest.mark.parametrize(("backward", "verdict"), [
    (right, "find your backward pass right"), (no_flip, "dx: .*DISAGREES"),
    (stub, "Not run yet: write it first")])
def test_the_self_check_reads_the_students_checkers(backward, verdict):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2))
    b, dout = rng.standard_normal(4), rng.standard_normal((2, 4, 4, 4))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        grads = self_check.self_check(forward, backward, x, w, b, dout, **TOOLS)
    assert (grads is None) == (backward is stub)
    assert any(re.search(verdict, line) for line in out.getvalue().splitlines())
