"""What a feedback page may show of a run, once hidden tests have been in the student's kernel.

Before a test cell with hidden tests runs, the kernel has never held their text (the notebook being
graded is out of its sight), so the outputs of the cells above it are the student's own. From that
cell on, any output may carry the hidden text in a form no scrubber recognises (encoded,
compressed, spread over cells): a hook or a later solution cell can read the code the kernel was
sent. So from there on, a feedback page shows only what the grader itself wrote: for a test cell,
its result and the re-check's message (the re-check runs the tests in the grader's process, where
the student's code never sees them); for any other cell, a note that its output is not shown.
"""

from __future__ import annotations

import builtins

import nbformat
from nbformat.v4 import new_output

from autograder import cells

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
NOT_SHOWN = ("[output not shown in feedback: this cell ran after the grader's hidden tests, "
             "whose text a notebook's code could copy into its output]\n")
PASSED = "passed\n"
NO_DETAILS = ("this test failed when your notebook ran; its message is not shown, because it "
              "was printed after hidden tests had run (run the visible tests in your notebook, "
              "or `autograder check`, to see it)")


def sanitised(text: str) -> str:
    """A notebook's text with the HTML of its outputs sanitised and no JavaScript output (what
    ``--record`` writes for formgrader, which shows it in the instructor's browser)."""
    from nbconvert.preprocessors.sanitize import SanitizeHTML

    from autograder import course_root

    config = course_root.load_config().SanitizeHTML
    nb, _ = SanitizeHTML(**config).preprocess(nbformat.reads(text, as_version=4), {})
    return nbformat.writes(nb) + "\n"


def first_hidden_cell(nb: nbformat.NotebookNode) -> int | None:
    """Index of the first test cell that holds hidden tests (None if there is none)."""
    for index, cell in enumerate(nb.cells):
        if cells.nbgrader_meta(cell).get("grade") and BEGIN_HIDDEN in cell.get("source", ""):
            return index
    return None


def protect(nb: nbformat.NotebookNode, rechecked: dict[str, str]) -> nbformat.NotebookNode:
    """Replace every output from the first hidden-test cell on with the grader's own words.

    ``rechecked`` maps the grade id of each re-checked test cell to its failure message ('' when
    it passed there).
    """
    start = first_hidden_cell(nb)
    if start is None:
        return nb
    for cell in nb.cells[start:]:
        if cell.cell_type != "code":
            continue
        grade_id = cells.nbgrader_meta(cell).get("grade_id", "")
        if not cells.nbgrader_meta(cell).get("grade"):
            cell.outputs = [new_output("stream", name="stdout", text=NOT_SHOWN)]
            continue
        kernel_errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        cell.outputs = [_verdict(kernel_errors, rechecked.get(grade_id))]
    return nb


def _verdict(kernel_errors: list, recheck_message: str | None):
    """One output that says how a test cell went, in words the student's code did not write."""
    if recheck_message:
        return new_output("error", ename="CheckFailed", evalue=recheck_message,
                          traceback=[f"CheckFailed: {recheck_message}"])
    if not kernel_errors:
        return new_output("stream", name="stdout", text=PASSED)
    name = kernel_errors[0].get("ename", "")
    known = isinstance(getattr(builtins, name, None), type) or name == "KernelDied"
    name = name if known else "Error"
    return new_output("error", ename=name, evalue=NO_DETAILS, traceback=[f"{name}: {NO_DETAILS}"])
