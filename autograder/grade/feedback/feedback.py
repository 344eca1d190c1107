"""Feedback pages: readable by the student, true to the recorded score, and leak-free.

* :class:`ExplainGrading` says at the top what the grader ran and which of the student's cells
  it did not use, and where the re-check overruled nbgrader, shows the recorded score and why
  (from what :func:`annotate` wrote into the autograded notebook after the re-check).
* :class:`FeedbackExporter` renders formulas as MathML (:mod:`autograder.mathml`, as the
  solutions site does), so the page needs no network.
* :class:`ScrubHiddenTests` removes hidden-test lines that a student's code printed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert.exporters import HTMLExporter
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder import cells, mathml

WHAT_RAN = ("**How this notebook was graded.** The grader ran the import cells, your code (the "
            "solution cells and the code cells you added), the functions, classes, imports and "
            "constants of the cells above your answers, and the tests. Worked examples and "
            "plots were not run: their cells show no output here.")

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def hidden_lines(nb) -> set[str]:
    """Every non-blank line inside a hidden-tests block of the notebook's test cells."""
    lines: set[str] = set()
    for cell in nb.cells:
        if cells.nbgrader_meta(cell).get("grade"):
            for block in cell.source.split(BEGIN)[1:]:
                lines |= {line.strip() for line in block.split(END)[0].splitlines()
                          if line.strip()}
    return lines


def _scrub(text: str, secret: set[str]) -> str:
    kept = [line for line in text.splitlines(keepends=True)
            if not any(s in line for s in secret) and BEGIN not in line and END not in line]
    return "".join(kept)


class ScrubHiddenTests(NbGraderPreprocessor):
    """Remove hidden-test lines from every output (a student's hook may have printed them).

    Runs before nbgrader's ClearHiddenTests, which then removes them from the cell sources.
    """

    def preprocess(self, nb, resources):
        secret = hidden_lines(nb)
        if not secret:
            return nb, resources
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if "text" in output:
                    output.text = _scrub(output.text, secret)
                if "evalue" in output:
                    output.evalue = _scrub(output.evalue, secret)
                    output.traceback = [_scrub(t, secret) for t in output.traceback]
                for kind, value in output.get("data", {}).items():
                    if kind.startswith("text/") and isinstance(value, str):
                        output.data[kind] = _scrub(value, secret)
        return nb, resources


def annotate(folder: Path, submitted: dict[str, str], points: dict[str, float],
             reasons: dict[str, str]) -> None:
    """Write into each autograded notebook of ``folder`` what its feedback must say: the points
    of the re-check and its reasons, and the student's cells intake did not use."""
    for path in folder.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        text = submitted.get(path.name)
        ignored = nbformat.reads(text, as_version=4).metadata.get(cells.ADDED, {}).get(
            "ignored", []) if text else []
        nb.metadata[cells.ADDED] = {"ignored": ignored, "recheck": {
            grade_id: {"points": p, "reason": reasons.get(grade_id, "")}
            for grade_id, p in points.items()}}
        nbformat.write(nb, path)


class ExplainGrading(NbGraderPreprocessor):
    """What was graded and how, in the page: runs after nbgrader's ``GetGrades``."""

    def preprocess(self, nb, resources):
        notes = nb.metadata.get(cells.ADDED, {})
        recheck = notes.get("recheck", {})
        intro = WHAT_RAN + "".join(f"\n\n*Not used:* {item['why']}"
                                   for item in notes.get("ignored", []))
        kept, lost = [nbformat.v4.new_markdown_cell(intro)], 0.0
        for cell in nb.cells:
            kept.append(cell)
            meta = cells.nbgrader_meta(cell)
            verified = recheck.get(meta.get("grade_id"), {})
            if meta.get("grade") and verified and verified["points"] < (meta.get("score") or 0):
                lost += meta["score"] - verified["points"]
                kept.append(nbformat.v4.new_markdown_cell(
                    f"**Recorded: {verified['points']:g} of {meta['points']:g} points** (the "
                    f"test above passed in your notebook's kernel). The grader's re-check, which "
                    f"calls your functions in a separate clean Python, failed: "
                    f"{verified['reason'] or 'see the instructor'}"))
                meta["score"] = verified["points"]
        nb.cells = kept
        if "score" in resources.get("nbgrader", {}):
            resources["nbgrader"]["score"] -= lost
        return nb, resources


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback page (its template, from the configuration) with formulas as
    MathML, as on the solutions site: the page renders them without the network."""

    markdown2html = mathml.markdown2html
