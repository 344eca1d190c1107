"""The student's verb: run a notebook's visible tests and say what passes."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient


def test_results(path: Path, timeout: int = 120) -> list[tuple[str, float, str]]:
    """Execute the notebook; for each test cell: its id, its points and its error ('' if passed)."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    results = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            errors = [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
            results.append((meta["grade_id"], meta.get("points", 0), "\n".join(errors)))
    return results


def main(path: Path) -> int:
    """Print one line per test cell; exit status 1 if any fails."""
    results = test_results(path)
    for grade_id, points, error in results:
        mark = "pass" if not error else "FAIL"
        print(f"{mark}  {grade_id} ({points:g} points)")
        if error:
            print("      " + error.replace("\n", "\n      "))
    passed = sum(points for _, points, error in results if not error)
    total = sum(points for _, points, _ in results)
    print(f"\nVisible tests: {passed:g} of {total:g} points pass. The grader also runs hidden "
          "cases.")
    return 0 if passed == total and results else 1
