"""Versions are pinned once: environment.yml and constraints.txt must agree with pyproject.toml."""

import re
import tomllib

import yaml

from autograder.course_root import REPO_ROOT


def _pins(lines):
    return dict(re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line).groups()
                for line in lines if "==" in line)


def _pyproject_pins():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return _pins(project["dependencies"])


def test_every_dependency_is_pinned_exactly():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    loose = [r for r in requirements if not re.fullmatch(r"[A-Za-z0-9_.\-]+==[\w.]+", r)]
    assert not loose, f"not pinned to one version: {loose}"
    assert _pyproject_pins()["torch"] == "2.13.0"


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert _pins(pip_section) == _pyproject_pins()


def test_constraints_agree_with_pyproject():
    lock = {k.lower(): v for k, v in
            _pins((REPO_ROOT / "constraints.txt").read_text().splitlines()).items()}
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    test_pins = _pins(project["optional-dependencies"]["test"])
    for name, version in (_pyproject_pins() | test_pins).items():
        assert lock.get(name.lower()) == version, f"constraints.txt disagrees on {name}"
