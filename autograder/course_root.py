"""The nbgrader course folder: its configuration, assignments and Python API."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE = "nbgrader_config.py"


def load_config(root: Path = REPO_ROOT) -> Config:
    """The course's ``nbgrader_config.py``, read the way nbgrader reads it."""
    _put_environment_scripts_on_path()
    return PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()


def _put_environment_scripts_on_path() -> None:
    """nbgrader runs ``alembic`` to make a gradebook: it must be found beside this Python."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def assignments(root: Path = REPO_ROOT) -> list[str]:
    """Assignment names: the folders of ``source/``, in course order."""
    return sorted(p.name for p in (root / "source").iterdir() if p.is_dir()
                  and not p.name.startswith("."))


def notebooks(root: Path, assignment: str, stage: str = "source") -> list[Path]:
    """The notebooks of one assignment in ``source/`` or ``release/``."""
    return sorted((root / stage / assignment).glob("*.ipynb"))


def api(root: Path = REPO_ROOT, db_url: str | None = None):
    """nbgrader's Python API bound to the course in ``root`` (and another gradebook if given)."""
    import nbgrader.api
    from nbgrader.apps import NbGraderAPI  # heavy import, only when grading

    nbgrader.api.get_alembic_version = alembic_head
    config = load_config(root)
    if db_url:
        config.CourseDirectory.db_url = db_url
    return NbGraderAPI(config=config)


@functools.cache
def alembic_head() -> str:
    """The gradebook schema's revision, which nbgrader stamps on a new gradebook.

    nbgrader asks the ``alembic`` command for it (a new Python process, seconds on a busy
    machine); this reads the same migration scripts in this process.
    """
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import _temp_alembic_ini

    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:
        return ScriptDirectory.from_config(AlembicConfig(ini)).get_current_head()
