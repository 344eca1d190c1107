"""The stored form of source notebooks: no outputs, no volatile metadata, stable JSON."""

from __future__ import annotations

from pathlib import Path

import nbformat

KEPT_CELL_METADATA = ("nbgrader", "tags", "deletable", "editable")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip outputs and volatile metadata in place; return the notebook."""
    nb.metadata = nbformat.from_dict({"kernelspec": KERNELSPEC,
                                      "language_info": {"name": "python"}})
    for cell in nb.cells:
        cell.metadata = nbformat.from_dict(
            {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA})
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def normalised_text(path: Path) -> str:
    """What ``path`` should contain once normalised."""
    nb = nbformat.read(path, as_version=4)
    return nbformat.writes(normalise(nb)) + "\n"


def normalise_file(path: Path) -> bool:
    """Rewrite ``path`` in normalised form; return whether it changed."""
    text = normalised_text(path)
    if path.read_text() == text:
        return False
    path.write_text(text)
    return True
