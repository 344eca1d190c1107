"""Notebook 06's solution ``conv2d_backward_fast`` against PyTorch CPU, float64, one thread each.

The solution is read from the source notebook's solution cell (as the grader reads it) and timed
on three shapes against PyTorch's ``conv2d`` forward + backward. Each time is the best of several
runs; the ratio is ours / PyTorch's (the course asks for at most 2).

Reproduce with ``OPENBLAS_NUM_THREADS=1 python benchmarks/fast_vs_torch.py`` (the script sets
that itself when started without it); it rewrites ``benchmarks/fast_vs_torch.md``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads its BLAS
os.environ.setdefault("OMP_NUM_THREADS", "1")

import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from autograder import course_root  # noqa: E402
from autograder.author import submissions  # noqa: E402
from course import checks, reference  # noqa: E402

HERE = Path(__file__).resolve().parent
NOTEBOOK = course_root.REPO_ROOT / "source" / "06_fast" / "06_fast.ipynb"
SHAPES = [((1, 5, 100, 100), (10, 5, 5, 5)), ((8, 3, 32, 32), (16, 3, 3, 3)),
          ((32, 16, 32, 32), (32, 16, 3, 3))]
REPEATS = 10


def solution():
    """The notebook's ``conv2d_backward_fast``, executed from its solution cell."""
    namespace: dict = {"np": np}
    for code in submissions.solution_cells(nbformat.read(NOTEBOOK, as_version=4)).values():
        exec(compile(code, str(NOTEBOOK), "exec"), namespace)  # noqa: S102 (our own solution)
    return namespace["conv2d_backward_fast"]


def torch_forward_backward(dout, x, w):
    x_t = torch.from_numpy(x).requires_grad_()
    w_t = torch.from_numpy(w).requires_grad_()
    b_t = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.conv2d(x_t, w_t, b_t).backward(torch.from_numpy(dout))
    return x_t.grad, w_t.grad, b_t.grad


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    torch.set_num_threads(1)
    fast = solution()
    rng = np.random.default_rng(0)
    rows = []
    for x_shape, w_shape in SHAPES:
        x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        dout = rng.standard_normal((x_shape[0], w_shape[0], x_shape[2] - w_shape[2] + 1,
                                    x_shape[3] - w_shape[3] + 1))
        error = max(checks.scaled_error(np.asarray(a), t) for a, t in
                    zip(fast(dout, x, w), reference.conv2d_backward(dout, x, w), strict=True))
        # Alternate the two and keep the best of each: drift on a busy machine hits both.
        ours = theirs = float("inf")
        for _ in range(REPEATS):
            ours = min(ours, timed(fast, dout, x, w))
            theirs = min(theirs, timed(torch_forward_backward, dout, x, w))
        rows.append((x_shape, w_shape, ours, theirs, error))
        print(f"x {x_shape} w {w_shape}: ours {ours * 1e3:.2f} ms, PyTorch {theirs * 1e3:.2f} ms,"
              f" ratio {ours / theirs:.2f}, relative error {error:.0e}")
    lines = [
        "# Notebook 06: the solution's `conv2d_backward_fast` against PyTorch CPU", "",
        "NumPy im2col + matrix products (backward only) against PyTorch `conv2d` forward + "
        "backward, float64, stride 1, pad 0,",
        f"one thread each (`OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}`, "
        "`torch.set_num_threads(1)`), best of "
        f"{REPEATS} alternating runs each. The course asks for a ratio of at most 2.", "",
        "Reproduce: `OPENBLAS_NUM_THREADS=1 python benchmarks/fast_vs_torch.py`", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, NumPy {np.__version__}, PyTorch {torch.__version__}.", "",
        "| x | w | ours (ms) | PyTorch (ms) | ours / PyTorch | max relative error |",
        "|---|---|---|---|---|---|",
    ]
    for x_shape, w_shape, ours, theirs, error in rows:
        lines.append(f"| {x_shape} | {w_shape} | {ours * 1e3:.2f} | {theirs * 1e3:.2f} | "
                     f"{ours / theirs:.2f} | {error:.0e} |")
    (HERE / "fast_vs_torch.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
