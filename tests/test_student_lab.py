"""`make lab` is a student's JupyterLab: no nbgrader instructor tools; the instructor's keeps them.

The server is started as the Makefile's recipe starts it (its JUPYTER_CONFIG_PATH), then asked
for formgrader and for the Lab page's list of disabled plugins.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from autograder import course_root

REPO = course_root.REPO_ROOT
INSTRUCTOR_PLUGINS = {"@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:formgrader"}


def lab_recipe() -> str:
    """The command line of the Makefile's ``lab`` target."""
    text = (REPO / "Makefile").read_text()
    return re.search(r"^lab:.*\n\t(.+)$", text, re.MULTILINE)[1]


def serve(config_path: str | None, tmp_path: Path) -> tuple[int, list[str]]:
    """formgrader's HTTP status and the Lab page's disabled plugins, from a real server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env |= {"JUPYTER_CONFIG_DIR": str(tmp_path / "user"), "JUPYTER_RUNTIME_DIR": str(tmp_path)}
    if config_path:
        env["JUPYTER_CONFIG_PATH"] = config_path
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", f"--port={port}",
         "--ServerApp.token=t", "--allow-root", f"--ServerApp.root_dir={REPO / 'release'}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token=t") as page:
                    html = page.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.5)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/formgrader?token=t") as reply:
                status = reply.status
        except urllib.error.HTTPError as error:
            status = error.code
        options = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', html,
                                       re.DOTALL)[1])
        return status, options.get("disabledExtensions", [])
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_make_lab_hides_the_instructor_tools(tmp_path):
    match = re.search(r"JUPYTER_CONFIG_PATH=\$\(CURDIR\)/(\S+)", lab_recipe())
    assert match, lab_recipe()
    status, disabled = serve(str(REPO / match[1]), tmp_path)
    assert status == 404
    assert INSTRUCTOR_PLUGINS <= set(disabled)


def test_the_instructor_s_lab_keeps_them(tmp_path):
    status, disabled = serve(None, tmp_path)
    assert status == 200
    assert not INSTRUCTOR_PLUGINS & set(disabled)
