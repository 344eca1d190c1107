"""Intake flags a solution cell that changes the modules it imports (the checks, NumPy, ...)."""

import nbformat
import pytest

from autograder import cells, course_root, demo_class, intake, submissions

RELEASE = course_root.notebooks(course_root.REPO_ROOT, demo_class.ASSIGNMENT, "release")[0]
SOURCE = course_root.notebooks(course_root.REPO_ROOT, demo_class.ASSIGNMENT)[0]


@pytest.mark.parametrize(("code", "changed"), [
    ("import numpy as np\nnp.allclose = lambda *a, **k: True", ["np.allclose"]),
    ("from course import checks\nsetattr(checks, 'compare', print)", ["checks.*"]),
    ("import course.forward_checks\ncourse.forward_checks.compare = print",
     ["course.forward_checks.compare"]),
    ("import sys\nsys.modules['numpy'] = None", ["sys.modules"]),
    ("import torch\ndel torch.nn.functional.conv2d", ["torch.nn.functional.conv2d"]),
    ("import numpy as np\ndef f(x):\n    y = np.zeros(3)\n    y[1:] = x\n    return y", []),
    ("class Layer:\n    def __init__(self):\n        self.w = 1", []),
    ("def broken(:", []),
])
def test_module_patches(code, changed):
    assert cells.module_patches(code) == changed


def test_intake_flags_a_patching_solution_and_not_an_honest_one():
    release = nbformat.read(RELEASE, as_version=4)
    code = submissions.solution_cells(nbformat.read(SOURCE, as_version=4))
    honest = submissions.fill(release, code)
    _, flags = intake.merge(release, honest)
    assert flags == []
    code[demo_class.FORWARD_SOLUTION] = ("import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                                         + code[demo_class.FORWARD_SOLUTION])
    _, flags = intake.merge(release, submissions.fill(release, code))
    assert flags == [f"solution cell {demo_class.FORWARD_SOLUTION} changes np.allclose: code it "
                     "imports is not the student's to change"]
