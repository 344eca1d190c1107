"""A demo class for notebook 01: honest, wrong, broken and malicious submissions.

Every student is a row: how to build their folder from the source and release notebooks, and
what a fair grader must do with it (which cells keep their points, which earn none, what flag
or message explains it). ``make demo`` grades a few of them; the test suite grades them all.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.author import submissions

ASSIGNMENT = "01_forward"
NOTEBOOK = "01_forward.ipynb"
SIZE_SOLUTION, FORWARD_SOLUTION = "solution_conv_output_size", "solution_conv2d_single_forward"
SIZE_CELLS = ("test_output_size_basic", "test_output_size_stride_pad")
FORWARD_CELLS = ("test_forward_basic", "test_forward_bias", "test_forward_stride",
                 "test_forward_padding", "test_forward_stride_and_padding",
                 "test_forward_nonsquare", "test_forward_bad_input")
STRIDE_CELLS = ("test_forward_stride", "test_forward_stride_and_padding")
BLANK_FORWARD = ("def conv2d_single_forward(x, w, b=0.0, stride=1, pad=0):\n"
                 "    raise NotImplementedError()")


@dataclass(frozen=True)
class Student:
    """A demo student: what they submit and what the grader must make of it."""

    name: str
    about: str
    files: Callable[[nbformat.NotebookNode, nbformat.NotebookNode], dict[str, bytes]]
    full: tuple[str, ...] = ()   # cells that must keep all their points
    zero: tuple[str, ...] = ()   # cells that must earn nothing
    status: str = "graded"
    says: str = ""               # a phrase the flags or the message must contain


def _solution(source: nbformat.NotebookNode) -> dict[str, str]:
    return submissions.solution_cells(source)


def _text(nb: nbformat.NotebookNode) -> bytes:
    return (nbformat.writes(nb) + "\n").encode()


def _with(forward_code: str | None = None, prefix: str = "", name: str = NOTEBOOK,
          edit: Callable[[nbformat.NotebookNode], None] | None = None, extra=None):
    """A builder: the solution, with the forward cell replaced or prefixed, then edited."""
    def build(source, release):
        code = _solution(source)
        if forward_code is not None:
            code[FORWARD_SOLUTION] = forward_code
        code[FORWARD_SOLUTION] = prefix + code[FORWARD_SOLUTION]
        nb = submissions.fill(release, code)
        if edit:
            edit(nb)
        return {name: _text(nb), **(extra or {})}
    return build


def _bug(name: str):
    def build(source, release):
        variant = next(v for v in submissions.catalogue(ASSIGNMENT) if v.name == name)
        return {NOTEBOOK: _text(submissions.fill(release, submissions.variant_cells(source,
                                                                                   variant)))}
    return build


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _print_in_forward(statement: str):
    """An edit that makes the forward solution print something on every call."""
    def edit(nb):
        cell = _cell(nb, FORWARD_SOLUTION)
        cell.source = cell.source.replace("    y = np.empty", f"    {statement}\n    y = np.empty")
    return edit


SCRIPT = "document.title='pwned'"


def _inject_script(nb):
    """Display a script, an event handler and JavaScript from the first solution cell."""
    cell = _cell(nb, SIZE_SOLUTION)
    cell.source += ("\nfrom IPython.display import HTML, Javascript, display\n"
                    f"display(HTML(\"<b>hi</b><script>{SCRIPT}</script>\"\n"
                    f"             \"<img src=x onerror=\\\"{SCRIPT}\\\">\"))\n"
                    f"display(Javascript(\"{SCRIPT}\"))\n"
                    "display({'text/markdown': \"[a](javascript:alert('md'))\",\n"
                    "         'text/latex': r'$\\href{javascript:alert(1)}{x}$'}, raw=True)\n"
                    "for _ in range(4):  # 40 MB of displayed text: kept out of the grader\n"
                    "    display({'text/plain': 'x' * 10_000_000}, raw=True)\n")


def _tag_tests(nb):
    for grade_id in FORWARD_CELLS:
        _cell(nb, grade_id).metadata["tags"] = ["skip-execution", "raises-exception"]


def _delete_test(nb):
    nb.cells.remove(_cell(nb, "test_forward_stride"))


def _edit_test(nb):
    _cell(nb, "test_forward_stride").source = "pass"


def _duplicate(nb):
    cell = _cell(nb, FORWARD_SOLUTION)
    nb.cells.insert(nb.cells.index(cell), copy.deepcopy(cell))


# Raises (and so loses the forward cells) if any notebook or hidden test is within reach.
SOURCE_READER = """import glob, json, os, pathlib, course
root = pathlib.Path(course.__file__).parents[1]
found = glob.glob(str(root / 'source' / '**' / '*.ipynb'), recursive=True)
found += glob.glob('../../../source/**/*.ipynb', recursive=True)
tops = {os.getcwd(), '/tmp', '/dev/shm'}
if os.path.exists('/dev/shm/.kernel-connection.json'):  # in the grading kernel
    ip = json.load(open('/dev/shm/.kernel-connection.json'))['ip']
    tops.add(os.path.dirname(os.path.dirname(ip)))
for top in tops:  # each writable place, not the read-only folders mounted inside it
    device = os.stat(top).st_dev
    for folder, subfolders, files in os.walk(top):
        subfolders[:] = [d for d in subfolders
                         if os.lstat(os.path.join(folder, d)).st_dev == device]
        for name in files:
            try:
                text = open(os.path.join(folder, name), 'rb').read(10**7)
            except OSError:
                continue
            if name.endswith('.ipynb') or b'HIDDEN TESTS' in text:
                found.append(os.path.join(folder, name))
if found:
    raise RuntimeError(f'found {found}')
"""
TORCH_FORWARD = """def conv2d_single_forward(x, w, b=0.0, stride=1, pad=0):
    if np.ndim(x) != 2 or np.ndim(w) != 2 or stride < 1 or pad < 0:
        raise ValueError('bad input')
    if w.shape[0] > x.shape[0] + 2 * pad or w.shape[1] > x.shape[1] + 2 * pad:
        raise ValueError('kernel larger than the padded input')
    t = torch.nn.functional.conv2d(torch.tensor(x)[None, None], torch.tensor(w)[None, None],
                                   stride=stride, padding=pad)
    return t[0, 0].numpy() + b
"""
ALL = SIZE_CELLS + FORWARD_CELLS
NOT_STRIDE = tuple(c for c in ALL if c not in STRIDE_CELLS)
STUDENTS = [
    Student("solution", "the worked solution", _with(), full=ALL),
    Student("blank", "the release notebook, untouched",
            lambda s, r: {NOTEBOOK: _text(r)}, zero=ALL),
    Student("buggy", "forgets the stride (a typical bug)", _bug("bug_stride_ignored"),
            full=NOT_STRIDE, zero=STRIDE_CELLS),
    Student("broken", "a notebook cut off mid-file",
            lambda s, r: {NOTEBOOK: _text(r)[:4000]}, status="not graded",
            says="not a valid notebook"),
    Student("empty-file", "an empty file", lambda s, r: {NOTEBOOK: b""},
            status="not graded", says="not a valid notebook"),
    Student("input-transformer", "turns every later cell into `pass` (full marks in stock "
            "nbgrader)", _with(BLANK_FORWARD, "get_ipython().input_transformers_post.append("
                               "lambda lines: ['pass\\n'])\n"),
            full=SIZE_CELLS, zero=FORWARD_CELLS, status="needs review", says="re-check"),
    Student("patch-checks", "replaces the course checks and np.allclose from a solution cell",
            _with("import numpy\nimport course.checks\nimport course.forward_checks\n"
                  "numpy.allclose = lambda *a, **k: True\n"
                  "course.forward_checks.check_single_forward = lambda *a, **k: None\n"
                  "course.checks.check_rejects = lambda *a, **k: None\n" + BLANK_FORWARD),
            full=SIZE_CELLS, zero=FORWARD_CELLS, status="needs review", says="re-check"),
    Student("torch-unsealer", "undoes the re-check's seal to let PyTorch compute the forward "
            "pass", _with("import sys as _s\n"
                          "if _s.modules.get('torch', 0) is None:\n"
                          "    _s.modules.pop('torch')\n"
                          "import torch\n\n" + TORCH_FORWARD),
            # its own input checks still earn their point: PyTorch is out of its reach there
            full=SIZE_CELLS + ("test_forward_bad_input",),
            zero=tuple(c for c in FORWARD_CELLS if c != "test_forward_bad_input"),
            status="needs review", says="re-check"),
    Student("kernel-saboteur", "right in the re-check, wrong in its own kernel: the sign of a "
            "run someone else tampered with", _with(edit=_print_in_forward(
                "if 'ipykernel' in __import__('sys').modules: b = b + 1.0")),
            full=SIZE_CELLS + ("test_forward_bad_input",),
            zero=tuple(c for c in FORWARD_CELLS if c != "test_forward_bad_input"),
            status="needs review", says="re-check"),
    Student("torch-caller", "lets PyTorch compute the forward pass",
            _with("import torch\n\n" + TORCH_FORWARD),
            full=SIZE_CELLS, zero=FORWARD_CELLS, status="needs review", says="torch"),
    Student("skip-tags", "tags the test cells skip-execution", _with(BLANK_FORWARD,
            edit=_tag_tests), full=SIZE_CELLS, zero=FORWARD_CELLS, status="needs review",
            says="metadata changed"),
    Student("numpy-shadow", "ships a numpy.py whose allclose is always True",
            _with(BLANK_FORWARD, extra={"numpy.py": b"allclose = lambda *a, **k: True\n"}),
            full=SIZE_CELLS, zero=FORWARD_CELLS, status="needs review", says="numpy.py"),
    Student("gradebook-writer", "tries to give itself 100 points in gradebook.db",
            _with(BLANK_FORWARD, "import glob, sqlite3\n"
                  "for path in glob.glob('../../../gradebook.db') + glob.glob('../../*.db'):\n"
                  "    db = sqlite3.connect(path)\n"
                  "    db.execute('update grade set manual_score = 100')\n"
                  "    db.commit()\n"), full=SIZE_CELLS, zero=FORWARD_CELLS),
    Student("source-reader", "looks for the hidden tests in source/ and in every folder it "
            "can write or read outside the system (loses its points if it finds any)",
            _with(prefix=SOURCE_READER), full=ALL),
    Student("hidden-test-printer", "prints every cell's source from an IPython hook, to read "
            "the hidden tests in its feedback",
            _with(prefix="get_ipython().events.register('pre_run_cell', "
                  "lambda info: print(info.raw_cell))\n"), full=ALL),
    Student("hidden-test-encoder", "copies every cell's source into its outputs encoded "
            "(base64, hex, zlib), to read the hidden tests in its feedback",
            _with(prefix="import base64, zlib\n"
                  "def _leak(info):\n"
                  "    raw = info.raw_cell.encode()\n"
                  "    print(base64.b64encode(raw).decode(), raw.hex())\n"
                  "    print(base64.b64encode(zlib.compress(raw)).decode())\n"
                  "get_ipython().events.register('pre_run_cell', _leak)\n"), full=ALL),
    Student("script-injector", "displays HTML with a script and an event handler, before "
            "any hidden test ran", _with(edit=_inject_script), full=ALL),
    Student("sys-exit", "calls sys.exit() in a solution cell",
            _with(BLANK_FORWARD, "import sys\nsys.exit(0)\n"), full=SIZE_CELLS,
            zero=FORWARD_CELLS),
    Student("os-exit", "kills its kernel with os._exit", _with(prefix="import os\nos._exit(1)\n"),
            full=SIZE_CELLS, zero=FORWARD_CELLS),
    Student("segfault", "crashes the interpreter", _with(prefix="import ctypes\n"
                                                          "ctypes.string_at(0)\n"),
            full=SIZE_CELLS, zero=FORWARD_CELLS),
    Student("infinite-loop", "never finishes a solution cell",
            _with(prefix="while True:\n    pass\n"), full=SIZE_CELLS, zero=FORWARD_CELLS),
    Student("memory-bomb", "allocates 8 GiB", _with(prefix="hog = bytearray(8 * 1024**3)\n"),
            full=SIZE_CELLS, zero=FORWARD_CELLS),
    Student("fork-flood", "starts 200 sleeping processes, then solves the exercise",
            _with(prefix="import subprocess\nkids = [subprocess.Popen(['sleep', '37.5']) "
                  "for _ in range(200)]\n"), full=ALL),
    Student("stderr-talker", "correct, but prints progress to stderr",
            _with(prefix="import sys\n",
                  edit=_print_in_forward("print('working...', file=sys.stderr)")), full=ALL),
    Student("huge-output", "correct, but prints a megabyte per call",
            _with(edit=_print_in_forward("print('x' * 10**6)")), full=ALL),
    Student("magic-user", "correct, and times the layer with %timeit in the solution cell",
            _with(edit=lambda nb: setattr(_cell(nb, FORWARD_SOLUTION), "source", _cell(
                nb, FORWARD_SOLUTION).source + "\n\n%timeit -n1 -r1 conv2d_single_forward("
                "np.ones((8, 8)), np.ones((3, 3)))")), full=ALL),
    Student("deleted-test", "deleted a test cell", _with(edit=_delete_test), full=ALL,
            status="needs review", says="deleted"),
    Student("edited-test", "edited a test cell to `pass`, and forgets the stride",
            lambda s, r: _edit_bug(s, r), full=NOT_STRIDE, zero=STRIDE_CELLS,
            status="needs review", says="edited"),
    Student("duplicated-cell", "duplicated a solution cell (identical copies: one answer)",
            _with(edit=_duplicate), full=ALL),
    Student("renamed", "saved the notebook under another name",
            _with(name="01_forward (1).ipynb"), full=ALL, status="needs review",
            says="renamed"),
]


def _edit_bug(source, release):
    nb = nbformat.reads(_bug("bug_stride_ignored")(source, release)[NOTEBOOK].decode(), 4)
    _edit_test(nb)
    return {NOTEBOOK: _text(nb)}


def build(folder: Path, source: Path, release: Path, names: list[str] | None = None
          ) -> list[Student]:
    """Write ``folder/<student>/<files>`` for the chosen students (default: all)."""
    source_nb = nbformat.read(source, as_version=4)
    release_nb = nbformat.read(release, as_version=4)
    chosen = [s for s in STUDENTS if names is None or s.name in names]
    for student in chosen:
        target = folder / student.name
        target.mkdir(parents=True, exist_ok=True)
        for name, data in student.files(copy.deepcopy(source_nb),
                                        copy.deepcopy(release_nb)).items():
            (target / name).write_bytes(data)
    return chosen
