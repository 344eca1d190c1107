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


def module_patches(code: str) -> list[str]:
    """What a cell changes in the modules it imports (``np.allclose = ...``,
    ``setattr(checks, ...)``, ``sys.modules[...] = ...``), as dotted names, in order."""
    try:
        tree = ast.parse(without_magics(code))
    except SyntaxError:
        return []
    modules = {(alias.asname or alias.name).split(".")[0] for node in ast.walk(tree)
               if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    changed = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            changed += [name for t in targets if (name := _module_member(t, modules))]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("setattr", "delattr") and node.args:
            root = _dotted(node.args[0])
            if root and root.split(".")[0] in modules:
                changed.append(f"{root}.*")
    return list(dict.fromkeys(changed))


def _module_member(target: ast.expr, modules: set[str]) -> str:
    """``np.allclose`` for a target ``np.allclose`` or ``sys.modules[...]`` (empty otherwise)."""
    if isinstance(target, ast.Subscript):
        target = target.value
    if not isinstance(target, ast.Attribute):
        return ""
    name = _dotted(target)
    return name if name and name.split(".")[0] in modules else ""


def _dotted(node: ast.expr) -> str:
    """``a.b.c`` for a chain of attributes on a name (empty for anything else)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""
