"""Write a graded class to disk: summary.csv, cells.csv, feedback pages and report.html."""

from __future__ import annotations

import base64
import csv
import html
import io
import re
import textwrap
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from autograder.classroom import Outcome  # noqa: E402

CAUSE = re.compile(r"Likely cause: (.+)")


def write(out: Path, assignment: str, outcomes: list[Outcome], notes: list[str],
          max_score: float) -> None:
    """Everything an instructor hands back or reads, under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    write_summary(out / "summary.csv", outcomes, max_score)
    write_cells(out / "cells.csv", outcomes)
    for outcome in outcomes:
        for name, page in outcome.feedback.items():
            folder = out / "feedback" / outcome.student
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(page)
    (out / "report.html").write_text(report_html(assignment, outcomes, notes, max_score))


def write_summary(path: Path, outcomes: list[Outcome], max_score: float) -> None:
    """One row per student: score, status, flags."""
    with path.open("w", newline="") as file:
        writer = csv.writer(file, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["student_id", "score", "max_score", "status", "flags", "message"])
        for o in outcomes:
            writer.writerow([o.student, f"{o.score:g}", f"{max_score:g}", o.status,
                             "; ".join(o.flags), o.message])


def write_cells(path: Path, outcomes: list[Outcome]) -> None:
    """One row per student and graded cell: points, nbgrader's and the verified ones, message."""
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["student_id", "cell", "points", "max_points", "nbgrader_points",
                         "verified_points", "status", "message"])
        for o in outcomes:
            for grade_id, cell in sorted(o.cells.items()):
                verified = o.verified.get(grade_id)
                writer.writerow([o.student, grade_id, f"{o.points(grade_id):g}",
                                 f"{cell.max_score:g}", f"{cell.score:g}",
                                 "" if verified is None else f"{verified:g}", o.status,
                                 " ".join(cell.message.split())[:300]])


def misconceptions(outcomes: list[Outcome]) -> Counter:
    """How many students' failed cells named each likely cause."""
    counts: Counter = Counter()
    for o in outcomes:
        causes = {m.group(1) for c in o.cells.values() for m in CAUSE.finditer(c.message)}
        counts.update(causes)
    return counts


def _figure_tag(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def _plots(outcomes: list[Outcome], max_score: float) -> str:
    graded = [o for o in outcomes if o.cells]
    if not graded:
        return "<p>No submission could be graded.</p>"
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.hist([o.score for o in graded], bins=min(20, int(max_score) + 1), range=(0, max_score),
            color="tab:blue", edgecolor="white")
    ax.set(title="total score", xlabel="points", ylabel="students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    tags = _figure_tag(fig)

    cells = sorted({g for o in graded for g in o.cells}, reverse=True)
    outcomes_by_kind: dict[str, list[int]] = {"full": [], "partial": [], "no": []}
    for g in cells:
        points = [o.points(g) / o.cells[g].max_score for o in graded
                  if g in o.cells and o.cells[g].max_score]
        outcomes_by_kind["full"].append(sum(p >= 1 for p in points))
        outcomes_by_kind["partial"].append(sum(0 < p < 1 for p in points))
        outcomes_by_kind["no"].append(sum(p <= 0 for p in points))
    fig, ax = plt.subplots(figsize=(9, 0.6 + 0.35 * len(cells)))
    left = np.zeros(len(cells))
    for kind, colour in (("full", "tab:green"), ("partial", "gold"), ("no", "tab:red")):
        ax.barh(cells, outcomes_by_kind[kind], left=left, color=colour, label=kind + " points")
        left += outcomes_by_kind[kind]
    ax.set(title="points per exercise (students)", xlabel="students")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    tags += _figure_tag(fig)

    counts = misconceptions(outcomes).most_common(10)
    if counts:
        fig, ax = plt.subplots(figsize=(9, 0.6 + 0.4 * len(counts)))
        ax.barh([textwrap.shorten(c, 70) for c, _ in counts][::-1],
                [n for _, n in counts][::-1], color="tab:orange")
        ax.set(title="most frequent misconceptions", xlabel="students")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        tags += _figure_tag(fig)
    return tags


def report_html(assignment: str, outcomes: list[Outcome], notes: list[str],
                max_score: float) -> str:
    """A single self-contained page: plots, the table of students, flags and batch notes."""
    rows = "".join(
        f"<tr><td>{html.escape(o.student)}</td><td>{o.score:g} / {max_score:g}</td>"
        f"<td>{html.escape(o.status)}</td><td>{html.escape('; '.join(o.flags) or o.message)}"
        "</td></tr>" for o in outcomes)
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes) or "<li>none</li>"
    causes = "".join(f"<tr><td>{n}</td><td>{html.escape(cause)}</td></tr>"
                     for cause, n in misconceptions(outcomes).most_common()) or \
        "<tr><td>0</td><td>no failure matched a known misconception</td></tr>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(assignment)}: class report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:75em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}img{{max-width:100%}}</style>
</head><body><h1>{html.escape(assignment)}: class report</h1>
<p>{len(outcomes)} submissions, {sum(o.status == "graded" for o in outcomes)} graded cleanly,
{sum(o.status == "needs review" for o in outcomes)} to review,
{sum(o.status in ("not graded", "grading failed") for o in outcomes)} not graded.</p>
{_plots(outcomes, max_score)}
<h2>Misconceptions named in failed checks</h2>
<table><tr><th>students</th><th>likely cause</th></tr>{causes}</table>
<h2>Students</h2><table><tr><th>student</th><th>score</th><th>status</th><th>flags / reason</th>
</tr>{rows}</table><h2>Batch notes</h2><ul>{notes_html}</ul></body></html>
"""
