"""Source notebooks are stored clean, and release/ is exactly what nbgrader generates from them."""

from pathlib import Path

import pytest

from autograder import course_root
from autograder.author import notebook_format

REPO = course_root.REPO_ROOT
SOURCE_NOTEBOOKS = sorted((REPO / "source").rglob("*.ipynb"))


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=lambda p: p.name)
def test_source_notebook_is_normalised(path: Path):
    assert path.read_text() == notebook_format.normalised_text(path), (
        f"{path.relative_to(REPO)} is not normalised: run `make normalise`")


def test_every_assignment_has_a_release():
    assignments = course_root.assignments(REPO)
    assert assignments, "no assignment in source/"
    for name in assignments:
        released = [p.name for p in course_root.notebooks(REPO, name, "release")]
        assert released == [p.name for p in course_root.notebooks(REPO, name)], name


def test_release_is_in_sync_with_source(course: Path):
    """The ``course`` fixture regenerated release/ with nbgrader: it must equal what is here."""
    def files(root: Path) -> list[Path]:
        return sorted(p.relative_to(root) for p in (root / "release").rglob("*") if p.is_file())

    generated, committed = files(course), files(REPO)
    assert generated == committed
    stale = [str(p) for p in committed if (REPO / p).read_bytes() != (course / p).read_bytes()]
    assert not stale, f"release/ is out of date, run `make release`: {stale}"
