"""What a notebook cell is, for grading: an import cell, a solution, a test, an example."""

from __future__ import annotations

import ast


def nbgrader_meta(cell) -> dict:
    """The cell's nbgrader metadata (empty for a cell nbgrader does not know)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def without_magics(code: str) -> str:
    """The code without IPython magics and shell escapes (``%matplotlib``, ``!ls``)."""
    return "\n".join(line for line in code.splitlines()
                     if not line.lstrip().startswith(("%", "!")))


def is_import_cell(code: str) -> bool:
    """Whether the cell only imports (magics aside): the setup every test relies on."""
    try:
        body = ast.parse(without_magics(code)).body
    except SyntaxError:
        return False
    return bool(body) and all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in body)


def needed_for_tests(cell) -> bool:
    """Import, solution and test cells; worked examples and plots are not needed to grade."""
    if cell.get("cell_type") != "code":
        return False
    meta = nbgrader_meta(cell)
    return bool(meta.get("solution") or meta.get("grade")) or is_import_cell(cell.get("source", ""))


def defined_names(code: str) -> set[str]:
    """Names of the top-level functions and classes a cell defines (magics allowed)."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        body = ast.parse(TransformerManager().transform_cell(code)).body
    except SyntaxError:
        return set()
    return {n.name for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
