"""An honest class for every notebook: the worked solution, written the way real students write.

Each student hands in correct work with ordinary habits: helpers in cells of their own (above and
below the answer), the notebook's own given helpers, a solution cell split in two, markdown notes,
debug prints and plots, ``tqdm`` loops, ``display``, IPython magics, a scratch call that raises
after the cell has defined its function, globals their functions read, cells moved around, a file
saved by Colab or an older Jupyter. A fair grader gives each of them the points of ``textbook``
(the same solution typed into the release notebook) with nothing to review.
"""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import cells, course_root
from autograder.author import submissions

# Notebook 06's answer that builds on the notebook's own windows_of (section 2) and calls a
# col2im generalised to stride and padding (the student's own, below the notebook's).
FAST_WITH_GIVEN_HELPERS = '''def conv2d_backward_fast(dout, x, w, stride=1, pad=0):
    F, C, KH, KW = w.shape
    HO, WO = dout.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = windows_of(x_pad, KH, KW)[:, :, ::stride, ::stride][:, :, :HO, :WO]
    cols = win.transpose(1, 4, 5, 0, 2, 3).reshape(C * KH * KW, -1)
    dout_mat = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    dw = (dout_mat @ cols.T).reshape(w.shape)
    dx = col2im(w.reshape(F, -1).T @ dout_mat, x.shape, KH, KW, stride, pad)
    return dx, dw, dout_mat.sum(axis=1)'''
# Notebook 06: the student's own col2im, in a cell added below the notebook's, shadowing it.
OWN_COL2IM = '''# my own col2im (same result, my indexing), replacing the notebook's
def col2im(dcols, x_shape, KH, KW, stride=1, pad=0):
    N, C, H, W = x_shape
    HO, WO = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
    d = dcols.reshape(C, KH, KW, N, HO, WO).transpose(3, 0, 1, 2, 4, 5)
    dx_pad = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    for u in range(KH):
        for v in range(KW):
            dx_pad[:, :, u:u + stride * HO:stride, v:v + stride * WO:stride] += d[:, :, u, v]
    return dx_pad[:, :, pad:pad + H, pad:pad + W]'''
# A helper module the student writes from a cell, then imports.
HELPER_MODULE = "%%writefile my_helpers.py\ndef twice(v):\n    return 2 * v\n"
# Functions a training run calls thousands of times: no debug print there.
QUIET = {"07_capstone": {"numpy_layer"}}


@dataclass(frozen=True)
class Student:
    """An honest student: how their notebook is made from the source and release notebooks."""

    name: str
    about: str
    build: Callable[[str, nbformat.NotebookNode, nbformat.NotebookNode], str]
    only: tuple[str, ...] = ()  # the assignments this student takes (empty: all)


def _functions(code: str) -> list[ast.FunctionDef]:
    return [n for n in ast.parse(cells.python(code)).body if isinstance(n, ast.FunctionDef)]


def _insert_in_body(code: str, lines_for: Callable[[ast.FunctionDef], list[str]]) -> str:
    """Lines at the top of each top-level function's body (after its docstring)."""
    text = code.splitlines()
    for function in reversed(_functions(code)):
        lines = lines_for(function)
        body = function.body
        first = body[1] if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(
            body[0].value, ast.Constant) else body[0]
        indent = " " * first.col_offset
        text[first.lineno - 1:first.lineno - 1] = [indent + line for line in lines]
    return "\n".join(text)


def debug_habits(code: str) -> str:
    """Debug prints that depend on the input, a global flag and a ``tqdm`` loop in each function,
    then a plot, ``display`` and a scratch call that raises, after the definitions."""
    functions = _functions(code)
    if not functions:
        return code
    code = ("from tqdm.auto import tqdm\nVERBOSE = False\nCALLS = 0\n\n"
            + _insert_in_body(code, _debug_lines))
    name = functions[0].name
    return (code + "\n\nimport matplotlib.pyplot as plt\nplt.figure(figsize=(2, 2))\n"
            "plt.plot([0, 1], [1, 0])\nplt.title('scratch')\nplt.show()\n"
            f"display({name})\n{name}()  # trying it out: a TypeError, the cell stops here\n")


def _debug_lines(function: ast.FunctionDef) -> list[str]:
    first = function.args.args[0].arg if function.args.args else "None"
    return ["global CALLS",
            "CALLS += 1",
            f"print('debug:', CALLS, type({first}).__name__, getattr({first}, 'shape', ''))",
            "for _ in tqdm(range(2), disable=not VERBOSE):",
            "    pass"]


def own_error(code: str) -> str:
    """Bad input raises the student's own subclass of ValueError."""
    if "raise ValueError(" not in code:
        return code
    own = 'class ShapeError(ValueError):\n    """My error for inputs of the wrong shape."""\n\n\n'
    return own + code.replace("raise ValueError(", "raise ShapeError(")


def quiet_habits(code: str) -> str:
    """A plot and ``tqdm`` beside the functions, nothing inside them."""
    return (code + "\n\nfrom tqdm import tqdm\nfor _ in tqdm(range(3)):\n    pass\n"
            "import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()\n")


def helper_split(code: str) -> tuple[str, str]:
    """The first function's work moved to ``<name>_impl`` (for another cell), and the function
    calling it."""
    function = _functions(code)[0]
    lines = code.splitlines()
    start = min([function.lineno] + [d.lineno for d in function.decorator_list]) - 1
    helper = "\n".join(lines[start:function.end_lineno]).replace(
        f"def {function.name}(", f"def {function.name}_impl(", 1)
    wrapper = (f"def {function.name}(*args, **kwargs):\n"
               f"    return {function.name}_impl(*args, **kwargs)")
    rest = lines[:start] + [wrapper] + lines[function.end_lineno:]
    return helper, "\n".join(rest)


def _code_cell(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source)


def _note(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text)


def _solution_indexes(nb: nbformat.NotebookNode) -> list[int]:
    return [i for i, c in enumerate(nb.cells)
            if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]


def _habits_a(assignment: str, source, release) -> str:
    """Helpers in added cells above and below, debug habits, an exception class of their own,
    magics, notes, moved cells."""
    code = submissions.solution_cells(source)
    ids = list(code)
    helpers: dict[str, tuple[str, str]] = {}
    for number, grade_id in enumerate(ids):
        if not _functions(code[grade_id]):
            continue
        quiet = grade_id in QUIET.get(assignment, set())
        code[grade_id] = (quiet_habits if quiet else debug_habits)(own_error(code[grade_id]))
        if number == 0:
            helpers[grade_id] = ("above", "")
        if number == len(ids) - 1 and grade_id not in helpers:
            helpers[grade_id] = ("below", "")
    for grade_id, (where, _) in list(helpers.items()):
        helper, code[grade_id] = helper_split(code[grade_id])
        helpers[grade_id] = (where, helper)
    magic = ids[-1]
    code[magic] = "%%time\n" + code[magic]
    if len(ids) > 1:
        code[ids[0]] = ("%matplotlib inline\n!echo checking my answer\n" + code[ids[0]]
                        + "\n%timeit -n1 -r1 pass\n")
    nb = submissions.fill(release, code)
    kept = []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        where, helper = helpers.get(grade_id, ("", ""))
        if where == "above":
            kept.append(_code_cell("# my helper, used by the next cell\n" + helper))
        if cell.metadata.get("nbgrader", {}).get("solution") and kept \
                and kept[-1].cell_type == "markdown":
            kept.insert(len(kept) - 1, cell)  # moved above the instructions it answers
        else:
            kept.append(cell)
        if where == "below":
            kept.append(_code_cell(helper))
        if grade_id in code:
            kept.append(_note("**Note to self:** check the shapes again before submitting."))
    nb.cells = kept
    return nbformat.writes(nb) + "\n"


def _split(code: str) -> list[str]:
    """Two pieces, as JupyterLab's Split Cell makes them at a statement boundary; the second
    starts with ``from __future__ import annotations`` (legal at the top of a cell)."""
    body = ast.parse(code).body
    if len(body) < 2:
        return [code, "from __future__ import annotations\n# trying it\nprint('defined')"]
    lines = code.splitlines()
    cut = body[len(body) // 2].lineno - 1
    return ["\n".join(lines[:cut]),
            "from __future__ import annotations\n\n" + "\n".join(lines[cut:])]


def _habits_b(assignment: str, source, release) -> str:
    """Split solution cells, no cell ids, saved by Colab (odd notebooks) or Jupyter 4.4."""
    code = submissions.solution_cells(source)
    if assignment == "06_fast":
        code["solution_conv2d_backward_fast"] = FAST_WITH_GIVEN_HELPERS
    nb = submissions.fill(release, code)
    kept = []
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            for number, piece in enumerate(_split(cell.source)):
                half = copy.deepcopy(cell)
                half.id = f"{cell.id}-{number}"
                half.source = ("%%time\n" + piece) if number and assignment == "05_channels" \
                    else piece
                if not number:
                    half.source = "!pip install -q tqdm\n" + half.source
                kept.append(half)
        else:
            kept.append(cell)
        if assignment == "06_fast" and "def col2im(" in cell.source:
            kept.append(_code_cell(OWN_COL2IM))
    nb.cells = kept
    colab = int(assignment[:2]) % 2 == 1
    data = json.loads(nbformat.writes(nb))
    data["nbformat_minor"] = 0 if colab else 4
    for number, cell in enumerate(data["cells"]):
        cell.pop("id", None)
        if colab:
            cell["metadata"]["id"] = f"colab{number:04d}"
        else:
            cell["metadata"]["collapsed"] = False
    if colab:
        data["metadata"] = {"colab": {"provenance": []}, "kernelspec": {
            "name": "python3", "display_name": "Python 3"}, "language_info": {"name": "python"}}
    return json.dumps(data, indent=1) + "\n"


def _textbook(assignment: str, source, release) -> str:
    return nbformat.writes(submissions.fill(release, submissions.solution_cells(source))) + "\n"


def _helper_module(assignment: str, source, release) -> str:
    """A helper module written by a cell (``%%writefile``), imported by the solution."""
    code = submissions.solution_cells(source)
    first = next(iter(code))
    code[first] = "from my_helpers import twice\n" + _insert_in_body(
        code[first], lambda function: ["assert twice(1) == 2"])
    nb = submissions.fill(release, code)
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get(
        "grade_id") == first)
    nb.cells.insert(index, _code_cell(HELPER_MODULE))
    return nbformat.writes(nb) + "\n"


STUDENTS = [
    Student("textbook", "the worked solution typed into the release notebook", _textbook),
    Student("habits-a", "helpers in added cells above and below the answer, debug prints, "
            "plots, tqdm, display, magics, a ValueError subclass of their own, a scratch call "
            "that raises, notes, moved cells",
            _habits_a),
    Student("habits-b", "solution cells split in two (the second piece starting with a "
            "__future__ import), a pip install line, saved by Colab or Jupyter 4.4 (no cell "
            "ids); in 06 the answer uses the notebook's im2col and a col2im of their own that "
            "shadows the notebook's", _habits_b),
    Student("helper-module", "writes a helper module with %%writefile and imports it (the "
            "habit is the kernel's, not the notebook's: two notebooks show it)", _helper_module,
            only=("01_forward", "04_stride_pad")),
]


def students(assignment: str) -> list[Student]:
    """The honest students of one assignment."""
    return [s for s in STUDENTS if not s.only or assignment in s.only]


def build(folder: Path, assignment: str, root: Path = course_root.REPO_ROOT) -> list[Student]:
    """Write ``folder/<student>/<notebook>`` for every honest student of one assignment."""
    source_path = course_root.notebooks(root, assignment)[0]
    release_path = course_root.notebooks(root, assignment, "release")[0]
    source = nbformat.read(source_path, as_version=4)
    release = nbformat.read(release_path, as_version=4)
    for student in students(assignment):
        (folder / student.name).mkdir(parents=True, exist_ok=True)
        text = student.build(assignment, copy.deepcopy(source), copy.deepcopy(release))
        (folder / student.name / release_path.name).write_text(text)
    return students(assignment)
