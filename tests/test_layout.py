"""The package's layout is a rule: grading's stages import only earlier stages, grading imports
no other verb, and docs/grading.md's map names every grading module, stage by stage in order."""

import ast
import re
from pathlib import Path

import pytest

from autograder.course_root import REPO_ROOT
from autograder.grade import STAGES

PACKAGE = REPO_ROOT / "autograder"
# Grading imports none of these: the other verbs and the command line that calls them all.
ABOVE_GRADING = ("autograder.check", "autograder.author", "autograder.demo", "autograder.cli")


def module_name(path: Path) -> str:
    """``autograder/grade/run/pool.py`` -> ``autograder.grade.run.pool``."""
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "catalogue" not in p.parts}
GRADING = [m for m in MODULES if m.startswith("autograder.grade.")]
# The modules at the top of the package, beside the verbs' folders, that every verb may use.
SHARED = [module_name(p) for p in sorted(PACKAGE.glob("*.py"))
          if p.stem not in ("__init__", "__main__", "cli")]


def imported(name: str) -> set[str]:
    """The autograder modules (or packages) that one module imports, lazy imports included."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                      for a in node.names}
    return {m for m in found if m.split(".")[0] == "autograder"}


def stage(name: str) -> str:
    """The grading stage a module belongs to."""
    return name.split(".")[2]


def test_every_grading_module_is_in_a_listed_stage():
    folders = {p.name for p in (PACKAGE / "grade").iterdir() if (p / "__init__.py").exists()}
    loose = [p.name for p in (PACKAGE / "grade").glob("*.py") if p.name != "__init__.py"]
    assert folders == set(STAGES) and not loose, (folders ^ set(STAGES), loose)


@pytest.mark.parametrize("name", GRADING)
def test_no_stage_imports_a_later_one(name):
    later = {m for m in imported(name) if m.startswith("autograder.grade.")
             and STAGES.index(stage(m)) > STAGES.index(stage(name))}
    assert not later, f"{name} ({stage(name)}) imports a later stage: {sorted(later)}"


def forbidden(name: str) -> tuple[str, ...]:
    """What a module may not import: grading, no other verb; a shared module, no verb at all."""
    grading = name.startswith("autograder.grade.")
    return ABOVE_GRADING if grading else ABOVE_GRADING + ("autograder.grade",)


@pytest.mark.parametrize("name", GRADING + SHARED)
def test_grading_and_the_shared_modules_import_no_other_verb(name):
    verbs = {m for m in imported(name) for v in forbidden(name) if m == v or m.startswith(v + ".")}
    assert not verbs, f"{name} imports {sorted(verbs)}"


def test_the_map_names_every_grading_module_in_stage_order():
    text = (REPO_ROOT / "docs" / "grading.md").read_text()
    the_map = text[:text.index("\n## ", text.index("## The map") + 1)]
    named = re.findall(r"`(?:autograder/)?grade/(\w+)/(\w+)\.py`", the_map)
    files = {(stage(m), m.split(".")[3]) for m in GRADING if m.count(".") == 3}
    assert set(named) == files, set(named) ^ files
    order = [STAGES.index(s) for s, _ in named]
    assert order == sorted(order), named
