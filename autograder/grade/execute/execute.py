"""nbgrader's Execute preprocessor, made resilient for grading untrusted notebooks.

* A dead kernel (segfault, ``os._exit``, out of memory) costs the cell that killed it: the kernel
  restarts, the cells before it (except test cells) run again silently, grading goes on.
* A whole submission has a time budget as well as the per-cell timeout.
* A cell's stream output is capped, so a print flood cannot exhaust the grader's memory.
* With ``grade_only``, worked examples and plots are skipped: grading runs what
  ``cells.grading_steps`` says (imports, the student's code, the definitions of the given cells
  above it, the tests), the same steps as the re-check.
"""

from __future__ import annotations

import json
import time

from jupyter_client.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from autograder import cells

IMPORT_TIMEOUT = 120  # seconds for an import cell (PyTorch, the course) in a cold kernel


class ResilientExecute(Execute):
    """Execute cells like nbgrader, surviving kernel deaths and bounding time and output."""

    submission_timeout = Integer(900, help="Seconds for the whole notebook.").tag(config=True)
    max_stream_chars = Integer(200_000, help="Characters of stream output kept per cell."
                               ).tag(config=True)
    max_rich_chars = Integer(5_000_000, help="Characters of other outputs (displays, results, "
                             "errors) kept per cell.").tag(config=True)
    grade_only = Bool(False, help="Run only import, solution and test cells.").tag(config=True)
    kernel_cwd = Unicode("", help="Where the kernel starts instead of the notebook's folder "
                         "(grading: a folder the kernel cannot write).").tag(config=True)

    async def async_start_new_kernel(self, **kwargs):
        if self.kernel_cwd:
            kwargs.setdefault("cwd", self.kernel_cwd)
        return await super().async_start_new_kernel(**kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = time.monotonic() + self.submission_timeout
        self._crashed: set[int] = set()
        self._steps = {step.index: step for step in cells.grading_steps(nb)}
        self._rich_chars: dict[int, int] = {}
        return super().preprocess(nb, resources, km)

    def _get_timeout(self, cell):
        remaining = max(1, int(self._deadline - time.monotonic()))
        per_cell = super()._get_timeout(cell)
        if per_cell is not None and cell is not None and cells.is_import_cell(cell.source) \
                and not cells.is_student_code(cell):
            per_cell = max(per_cell, IMPORT_TIMEOUT)  # the release's imports, in a cold kernel
        return remaining if per_cell is None else min(per_cell, remaining)

    def preprocess_cell(self, cell, resources, index):
        if self.grade_only and cell.cell_type == "code":
            step = self._steps.get(index)
            if step is None:
                return cell, self.resources
            if step.code != cell.source:  # only the definitions of a given cell
                source, cell.source = cell.source, step.code
                try:
                    return self._run(cell, resources, index)
                finally:
                    cell.source, cell.outputs, cell.execution_count = source, [], None
        return self._run(cell, resources, index)

    def _run(self, cell, resources, index):
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
            if not run_sync(self.km.is_alive)():  # it replied, then died: still this cell's doing
                raise DeadKernelError("the kernel died at the end of the cell")
            return cell, resources
        except DeadKernelError:
            self._crashed.add(index)
            cell.outputs.append(new_output(
                "error", ename="KernelDied", evalue="the kernel died while running this cell "
                "(a crash, os._exit, or the memory limit); later cells run in a fresh kernel",
                traceback=["KernelDied: the kernel died while running this cell"]))
            self._restart_and_replay(index)
            return cell, self.resources

    def _restart_and_replay(self, index: int) -> None:
        """Start a fresh kernel and silently rerun the earlier setup and solution cells."""
        run_sync(self.km.restart_kernel)(now=True)
        if self.kc is not None:
            self.kc.stop_channels()
        self.kc = run_sync(self.async_start_new_kernel_client)()
        for earlier, cell in enumerate(self.nb.cells[:index]):
            step = self._steps.get(earlier) if self.grade_only else None
            code = step.code if step else cell.source
            grade = cells.nbgrader_meta(cell).get("grade", False)
            skipped = self.grade_only and step is None
            if cell.cell_type != "code" or grade or skipped or earlier in self._crashed:
                continue
            msg_id = self.kc.execute(code, silent=True, store_history=False)
            try:
                run_sync(self.async_wait_for_reply)(msg_id, cell)
            except DeadKernelError:
                self._crashed.add(earlier)
                run_sync(self.km.restart_kernel)(now=True)
                self.kc.stop_channels()
                self.kc = run_sync(self.async_start_new_kernel_client)()

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] in ("display_data", "execute_result", "update_display_data", "error"):
            size = len(json.dumps(msg["content"]))
            kept = self._rich_chars.get(cell_index, 0)  # a running total: no re-serialising
            self._rich_chars[cell_index] = kept + size
            if kept + size > self.max_rich_chars:
                if msg["msg_type"] == "error":  # the error stays (it decides the cell's points)
                    msg["content"]["traceback"] = msg["content"]["traceback"][-1:]
                    msg["content"]["evalue"] = msg["content"]["evalue"][:self.max_stream_chars]
                else:
                    return None
        if msg["msg_type"] == "stream":
            kept = sum(len(o.get("text", "")) for o in outs if o.get("output_type") == "stream")
            if kept >= self.max_stream_chars:
                return None
            room = self.max_stream_chars - kept
            if len(msg["content"]["text"]) > room:
                msg["content"]["text"] = msg["content"]["text"][:room] + "\n[output truncated]\n"
        return super().output(outs, msg, display_id, cell_index)
