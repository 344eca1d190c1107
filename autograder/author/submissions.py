"""Make submissions from the release notebook: the solution, the blank, and catalogue variants.

A catalogue variant is a Python file ``autograder/author/catalogue/<assignment>/<name>.py`` whose
top-level functions and classes replace the solution's of the same name, for example a known
bug. Its docstring says what it is; ``EXPECTED_FAILURES`` lists the grade ids of the test cells it
must fail (empty for an alternative correct solution).
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.cells import defined_names

CATALOGUE = Path(__file__).resolve().parent / "catalogue"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
DEFINITIONS = (ast.FunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class Variant:
    """A known implementation of an assignment's functions, with the cells it must fail."""

    assignment: str
    name: str
    description: str
    code: str
    functions: tuple[str, ...]
    expected_failures: tuple[str, ...]

    @property
    def is_bug(self) -> bool:
        """A bug loses points; an alternative correct solution keeps full marks."""
        return bool(self.expected_failures)


def load_variant(path: Path) -> Variant:
    """Read one catalogue file."""
    text = path.read_text()
    module = ast.parse(text)
    expected: tuple[str, ...] = ()
    for node in module.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "EXPECTED_FAILURES" for t in node.targets):
            expected = tuple(ast.literal_eval(node.value))
    code = "\n\n".join(ast.get_source_segment(text, node) for node in module.body
                       if isinstance(node, (ast.Import, ast.ImportFrom, *DEFINITIONS)))
    return Variant(
        assignment=path.parent.name,
        name=path.stem,
        description=(ast.get_docstring(module) or "").split("\n")[0],
        code=code,
        functions=tuple(n.name for n in module.body if isinstance(n, DEFINITIONS)),
        expected_failures=expected,
    )


def catalogue(assignment: str) -> list[Variant]:
    """Every catalogue variant of one assignment, sorted by name."""
    return [load_variant(p) for p in sorted((CATALOGUE / assignment).glob("*.py"))]


def solution_cells(source_nb: nbformat.NotebookNode) -> dict[str, str]:
    """The code of each solution cell of a source notebook (grade id -> code, markers removed)."""
    cells = {}
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            lines = [line for line in cell.source.splitlines() if line.strip() not in MARKERS]
            cells[meta["grade_id"]] = "\n".join(lines)
    return cells


def variant_cells(source_nb: nbformat.NotebookNode, variant: Variant) -> dict[str, str]:
    """Solution cells where each cell defining one of the variant's functions takes its code.

    A cell that also defines other functions keeps them: the variant's code is appended, and its
    definitions replace the solution's when the cell runs.
    """
    cells = solution_cells(source_nb)
    replaced: set[str] = set()
    for grade_id, code in cells.items():
        names = defined_names(code)
        if names & set(variant.functions):
            keep_solution = names - set(variant.functions)
            cells[grade_id] = f"{code}\n\n{variant.code}" if keep_solution else variant.code
            replaced |= names & set(variant.functions)
    missing = set(variant.functions) - replaced
    if missing:
        raise ValueError(f"{variant.assignment}/{variant.name}: no solution cell defines "
                         f"{', '.join(sorted(missing))}")
    return cells


def fill(release_nb: nbformat.NotebookNode, code: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of the release notebook whose solution cells hold ``code`` (by grade id)."""
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in code and cell.metadata["nbgrader"].get("solution"):
            cell.source = code[grade_id]
    return nb
