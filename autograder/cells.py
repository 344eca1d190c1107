"""What a notebook cell is, for grading: an import cell, a solution, a test, an example.

:func:`grading_steps` says what grading runs of a rebuilt notebook, in notebook order, the same
for nbgrader's kernel (``execute.ResilientExecute``) and for the re-check (``verify``): the import
cells; the student's code (solution cells, the cells they added, and the definitions of the cells
the release leaves open to them); and from every given cell above the student's last answer, its
top-level definitions and imports, its constants and the assignments the student's code reads
(not its examples, plots or timing loops).
"""

from __future__ import annotations

import ast
import symtable
from dataclasses import dataclass

# Cell metadata intake writes on a cell the student added (never copied from the student's file).
ADDED = "autograder"
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


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


def is_added(cell) -> bool:
    """Whether intake marked the cell as one the student added."""
    return bool(cell.get("metadata", {}).get(ADDED, {}).get("added"))


def is_student_code(cell) -> bool:
    """A solution cell or a code cell the student added: the student's code, run in full."""
    return cell.get("cell_type") == "code" and bool(
        nbgrader_meta(cell).get("solution") or is_added(cell))


def is_open(cell) -> bool:
    """A code cell the release leaves to the student (no nbgrader metadata: "paste your ...")."""
    return cell.get("cell_type") == "code" and not nbgrader_meta(cell) and not is_added(cell)


@dataclass(frozen=True)
class Step:
    """What grading runs of one cell: ``kind`` is imports, given, student or test."""

    index: int
    kind: str
    code: str


def grading_steps(nb) -> list[Step]:
    """What grading runs of a notebook, in order (see the module's docstring)."""
    code_cells = [(i, c) for i, c in enumerate(nb.cells) if c.get("cell_type") == "code"]
    answers = [i for i, c in code_cells if is_student_code(c)]
    last_answer = max(answers, default=-1)
    student_code = "\n".join(c.source for _, c in code_cells if is_student_code(c))
    wanted = free_names(student_code)
    steps = []
    for index, cell in code_cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade"):
            steps.append(Step(index, "test", cell.source))
        elif is_student_code(cell):
            steps.append(Step(index, "student", cell.source))
        elif is_import_cell(cell.source):
            steps.append(Step(index, "imports", cell.source))
        elif index < last_answer:
            code = definitions(cell.source, wanted)
            if code:
                steps.append(Step(index, "student" if is_open(cell) else "given", code))
    return steps


def python(code: str) -> str:
    """The cell as the Python IPython runs (magics become calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(code)


def free_names(code: str) -> set[str]:
    """Global names the code's functions and classes read and the code never assigns (what they
    need from the cells above)."""
    try:
        table = symtable.symtable(python(code), "<cell>", "exec")
    except SyntaxError:
        return set()
    assigned = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    read, scopes = set(), table.get_children()
    while scopes:
        scope = scopes.pop()
        scopes += scope.get_children()
        read |= {s.get_name() for s in scope.get_symbols() if s.is_global() and s.is_referenced()}
    return read - assigned


def definitions(code: str, wanted: set[str] = frozenset()) -> str:
    """A given cell's top-level functions, classes, imports and constants, with the assignments
    that bind a ``wanted`` name (and what those read), in order; no examples, plots or loops."""
    try:
        body = ast.parse(without_magics(code)).body
    except SyntaxError:
        return ""
    needed, kept = set(wanted), set()
    changed = True
    while changed:
        changed = False
        for index, node in enumerate(body):
            if index not in kept and _keep(node, needed):
                kept.add(index)
                needed |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                changed = True
    lines = without_magics(code).splitlines()
    return "\n".join("\n".join(lines[_first_line(body[i]) - 1:body[i].end_lineno])
                     for i in sorted(kept))


def _first_line(node: ast.stmt) -> int:
    """The statement's first line, its decorators included."""
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def _keep(node: ast.stmt, needed: set[str]) -> bool:
    if isinstance(node, DEFINITIONS):
        return True
    if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
        return False
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    names = [n for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if not names or not all(isinstance(t, (ast.Name, ast.Tuple)) for t in targets):
        return False
    try:
        ast.literal_eval(node.value)
        return True
    except ValueError:
        return any(n.id in needed for n in names)


def defined_names(code: str) -> set[str]:
    """Names of the top-level functions and classes a cell defines (magics allowed)."""
    try:
        body = ast.parse(python(code)).body
    except SyntaxError:
        return set()
    return {n.name for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def top_level_definitions(code: str) -> dict[str, str]:
    """Each top-level function or class the code defines, by name, as normalised source
    (the last one of a name; a stub that only raises ``NotImplementedError`` is left out)."""
    try:
        body = ast.parse(python(code)).body
    except SyntaxError:
        return {}
    return {n.name: ast.unparse(n) for n in body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and not _is_stub(n)}


def _is_stub(node: ast.stmt) -> bool:
    body = [n for n in node.body if not (isinstance(n, ast.Expr)
                                         and isinstance(n.value, ast.Constant))]
    return len(body) == 1 and isinstance(body[0], ast.Raise) and \
        "NotImplementedError" in ast.unparse(body[0])


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
