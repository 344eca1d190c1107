"""The course folder helpers agree with what nbgrader itself would do."""

import subprocess
import sys
from pathlib import Path

from autograder import course_root


def test_gradebook_revision_is_the_one_nbgrader_stamps():
    """The in-process alembic head equals the one nbgrader gets from the ``alembic`` command."""
    script = "import nbgrader.api; print(nbgrader.api.get_alembic_version())"
    scripts = str(Path(sys.executable).parent)
    stamped = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             check=True, env={"PATH": scripts}).stdout.strip()
    assert stamped and course_root.alembic_head() == stamped
