"""Feedback that cannot leak hidden tests, even when a student's code printed them."""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor

from autograder import cells

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
