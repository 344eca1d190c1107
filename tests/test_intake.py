"""Intake flags a solution cell that changes the modules it imports (the checks, NumPy, ...)."""

import nbformat
import pytest

from autograder import cells, course_root
from autograder.author import submissions
from autograder.demo import demo_class
from autograder.grade.intake import intake

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


def _solution_cell(nb, grade_id=demo_class.FORWARD_SOLUTION):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _filled():
    release = nbformat.read(RELEASE, as_version=4)
    return release, submissions.fill(release, submissions.solution_cells(
        nbformat.read(SOURCE, as_version=4)))


def test_split_pieces_are_one_answer_without_a_flag():
    release, nb = _filled()
    cell = _solution_cell(nb)
    second = nbformat.v4.new_code_cell("from __future__ import annotations\n\nSCALE = 1.0",
                                       metadata=cell.metadata)
    nb.cells.insert(nb.cells.index(cell) + 1, second)
    rebuilt, flags = intake.merge(release, nb)
    assert flags == []
    joined = _solution_cell(rebuilt).source
    assert joined.startswith("from __future__ import annotations\n") and "SCALE = 1.0" in joined
    assert cell.source in joined


def test_pieces_that_disagree_are_flagged_and_identical_copies_counted_once():
    release, nb = _filled()
    cell = _solution_cell(nb)
    other = nbformat.v4.new_code_cell(
        "def conv2d_single_forward(x, w, b=0.0, stride=1, pad=0):\n    return x",
        metadata=cell.metadata)
    nb.cells.insert(nb.cells.index(cell) + 1, other)
    _, flags = intake.merge(release, nb)
    assert flags == [f"cell {demo_class.FORWARD_SOLUTION}: its pieces define "
                     "conv2d_single_forward twice, differently (the later one is graded)"]
    nb.cells[nb.cells.index(other)] = nbformat.from_dict(dict(cell))
    rebuilt, flags = intake.merge(release, nb)
    assert flags == []  # identical copies agree: one answer, nothing to review
    assert _solution_cell(rebuilt).source == cell.source


def test_added_cells_are_kept_in_place_as_student_code_and_markdown_is_not_flagged():
    release, nb = _filled()
    cell = _solution_cell(nb)
    nb.cells.insert(nb.cells.index(cell), nbformat.v4.new_code_cell(
        "def helper(v):\n    return v", metadata={"autograder": {"added": False}, "tags": ["x"]}))
    nb.cells.insert(nb.cells.index(cell), nbformat.v4.new_markdown_cell("a note"))
    rebuilt, flags = intake.merge(release, nb)
    assert flags == []
    index = rebuilt.cells.index(_solution_cell(rebuilt))
    added = rebuilt.cells[index - 1]
    assert cells.is_added(added) and added.metadata == {"autograder": {"added": True}}
    assert "helper" in {n for s in cells.grading_steps(rebuilt) if s.kind == "student"
                        for n in cells.defined_names(s.code)}


def test_an_added_cell_that_patches_the_checks_is_flagged_like_a_solution_cell():
    release, nb = _filled()
    nb.cells.append(nbformat.v4.new_code_cell("import numpy as np\nnp.allclose = print"))
    _, flags = intake.merge(release, nb)
    assert flags == ["an added cell changes np.allclose: code it imports is not the student's "
                     "to change"]


def test_a_notebook_without_cell_ids_matches_by_grade_id_and_text():
    release, nb = _filled()
    data = nbformat.from_dict(dict(nb))
    data.nbformat_minor = 4
    for cell in data.cells:
        cell.pop("id", None)
    rebuilt, flags = intake.merge(release, data)
    assert flags == []
    assert not [c for c in rebuilt.cells if cells.is_added(c)]
    assert [c.source for c in rebuilt.cells] == [c.source for c in nb.cells]


def test_given_cells_run_their_definitions_only():
    code = ("import numpy as np\nTOL, N = 1e-9, 3\nrng = np.random.default_rng(0)\n"
            "x = rng.standard_normal(4)\n\n@staticmethod\ndef helper(v):\n    return v\n"
            "plt_loop = [print(i) for i in range(3)]\nfor i in range(3):\n    print(i)\n")
    assert cells.definitions(code) == ("import numpy as np\nTOL, N = 1e-9, 3\n"
                                       "@staticmethod\ndef helper(v):\n    return v")
    assert "rng = np.random.default_rng(0)\nx = rng" in cells.definitions(code, {"x"})
