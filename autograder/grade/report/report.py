"""Write a graded class to disk: summary.csv, cells.csv, the LMS exports and report.html (the
feedback pages are written as each result arrives, by the classroom)."""

from __future__ import annotations

import base64
import datetime
import html
import io
import re
import statistics
import textwrap
from collections import Counter, defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from autograder import course_root  # noqa: E402
from autograder.grade.report import exports  # noqa: E402
from autograder.grade.run.classroom import FEEDBACK, Outcome  # noqa: E402

CAUSE = re.compile(r"Likely cause: (.+)")


def write(out: Path, assignment: str, outcomes: list[Outcome], notes: list[str],
          max_score: float, root: Path = course_root.REPO_ROOT) -> None:
    """Everything an instructor hands back or reads, under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    write_summary(out / "summary.csv", outcomes, max_score)
    write_cells(out / "cells.csv", outcomes)
    exports.write_all(out, assignment, outcomes, max_score, root)
    links = {o.student: sorted(p.relative_to(out).as_posix()
                               for p in (out / FEEDBACK / o.student).glob("*.html"))
             for o in outcomes if o.student}
    (out / "report.html").write_text(report_html(assignment, outcomes, notes, max_score, links))


SUMMARY_COLUMNS = ["student_id", "lms_user_id", "name", "score", "max_score", "late_penalty",
                   "final_score", "status", "submitted_at", "time_source", "late", "flags",
                   "message", "source", "key"]


def write_summary(path: Path, outcomes: list[Outcome], max_score: float) -> None:
    """One row per input entry: each student (score, status, flags, lateness), each ignored
    file (status "ignored", the reason in ``message``)."""
    rows = []
    for o in outcomes:
        who = o.who
        rows.append([who.student_id, who.lms_user_id, who.name, f"{o.score:g}", f"{max_score:g}",
                     f"{o.late_penalty:g}", f"{o.final_score:g}", o.status,
                     _time(o.submitted_at), o.time_source, "late" if o.late else "",
                     "; ".join(o.flags), o.message, who.source if o.student else "", o.student])
    exports.write_csv(path, SUMMARY_COLUMNS, rows)


def _time(moment: datetime.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def write_cells(path: Path, outcomes: list[Outcome]) -> None:
    """One row per student and graded cell: points, nbgrader's and the verified ones, message."""
    rows = []
    for o in outcomes:
        for grade_id, cell in o.cells.items():
            verified = o.verified.get(grade_id)
            rows.append([o.who.student_id, o.who.lms_user_id, grade_id, f"{o.points(grade_id):g}",
                         f"{cell.max_score:g}", f"{cell.score:g}",
                         "" if verified is None else f"{verified:g}", o.status,
                         exports.shorten(cell.message), o.student])
    exports.write_csv(path, ["student_id", "lms_user_id", "cell", "points", "max_points",
                             "nbgrader_points", "verified_points", "status", "message", "key"],
                      rows)


def misconceptions(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    """The students whose failed cells named each likely cause, most frequent cause first."""
    students: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        for cause in sorted({m.group(1) for c in o.cells.values()
                             for m in CAUSE.finditer(c.message)}):
            students[cause].append(o)
    return dict(sorted(students.items(), key=lambda item: -len(item[1])))


def _figure_tag(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def _plots(outcomes: list[Outcome], max_score: float) -> str:
    """The plots, with every label drawn as plain text (a ``$`` in a student's message is not
    mathtext); if drawing fails, one line says so and the rest of the report stands."""
    graded = [o for o in outcomes if o.cells]
    if not graded:
        return "<p>No submission could be graded.</p>"
    try:
        with plt.rc_context({"text.parse_math": False}):
            return _draw(graded, max_score)
    except Exception as error:  # a plot must never cost the instructor the report
        plt.close("all")
        return f"<p>The plots could not be drawn: {html.escape(str(error))}</p>"


def _draw(graded: list[Outcome], max_score: float) -> str:
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.hist([o.score for o in graded], bins=min(20, int(max_score) + 1), range=(0, max_score),
            color="tab:blue", edgecolor="white")
    ax.set(title="total score", xlabel="points", ylabel="students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    tags = _figure_tag(fig)

    cells = list(dict.fromkeys(g for o in graded for g in o.cells))[::-1]
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

    counts = [(cause, len(who)) for cause, who in misconceptions(graded).items()][:10]
    if counts:
        fig, ax = plt.subplots(figsize=(9, 0.6 + 0.4 * len(counts)))
        ax.barh([textwrap.shorten(c, 70) for c, _ in counts][::-1],
                [n for _, n in counts][::-1], color="tab:orange")
        ax.set(title="most frequent misconceptions", xlabel="students")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        tags += _figure_tag(fig)
    return tags


def _name(o: Outcome, links: dict[str, list[str]]) -> str:
    """The student's verbatim id, linked to their first feedback page."""
    label = html.escape(o.who.student_id + (f" ({o.who.lms_user_id})" if o.who.lms_user_id
                                            else ""))
    pages = links.get(o.student)
    return f'<a href="{html.escape(pages[0])}">{label}</a>' if pages else label


def _student_row(o: Outcome, max_score: float, links: dict[str, list[str]]) -> str:
    """One student's row; if it cannot be drawn, that student's row says why (never the run)."""
    try:
        late = ("late" + (f", -{o.late_penalty:g}" if o.late_penalty else "")) if o.late else ""
        return (f"<tr><td>{_name(o, links)}</td><td>{o.final_score:g} / {max_score:g}</td>"
                f"<td>{html.escape(o.status)}</td><td>{html.escape(_time(o.submitted_at))}"
                f"</td><td>{html.escape(late)}</td>"
                f"<td>{html.escape('; '.join(o.flags) or o.message)}</td></tr>")
    except Exception as error:  # one student's odd data must not cost the class its report
        return (f"<tr><td>{html.escape(repr(o.student))}</td><td colspan=5>this row could not "
                f"be drawn: {html.escape(type(error).__name__)}</td></tr>")


def _question_table(outcomes: list[Outcome]) -> str:
    """Average points per graded cell, in notebook order, and blank vs attempted answers."""
    graded = [o for o in outcomes if o.cells]
    rows = []
    for g in dict.fromkeys(g for o in graded for g in o.cells):
        scored = [o for o in graded if g in o.cells]
        most = scored[0].cells[g].max_score
        mean = statistics.fmean(o.points(g) for o in scored)
        full = sum(o.points(g) >= o.cells[g].max_score for o in scored)
        rows.append(f"<tr><td>{html.escape(g)}</td><td>{mean:.2f} / {most:g}</td>"
                    f"<td>{full} of {len(scored)}</td></tr>")
    answers = []
    for cell in dict.fromkeys(c for o in graded for c in o.attempted):
        tried = sum(o.attempted.get(cell, False) for o in graded)
        answers.append(f"<tr><td>{html.escape(cell)}</td><td>{tried}</td>"
                       f"<td>{len(graded) - tried}</td></tr>")
    return ("<h2>Questions, in notebook order</h2><table><tr><th>test cell</th>"
            f"<th>average points</th><th>full marks</th></tr>{''.join(rows)}</table>"
            "<h2>Answers attempted or left blank</h2><table><tr><th>solution cell</th>"
            f"<th>attempted</th><th>left blank</th></tr>{''.join(answers)}</table>")


def report_html(assignment: str, outcomes: list[Outcome], notes: list[str],
                max_score: float, links: dict[str, list[str]] | None = None) -> str:
    """A single self-contained page: statistics, plots, questions, misconceptions, students."""
    links = links or {}
    students = [o for o in outcomes if o.student]
    scores = [o.final_score for o in students if o.cells]
    stats = (f"mean {statistics.fmean(scores):.2f}, median {statistics.median(scores):g} "
             f"of {max_score:g}" if scores else "no scores")
    rows = "".join(_student_row(o, max_score, links) for o in students)
    causes = "".join(
        f"<tr><td>{len(who)}</td><td>{html.escape(cause)}</td>"
        f"<td>{', '.join(_name(o, links) for o in who)}</td></tr>"
        for cause, who in misconceptions(students).items()) or \
        "<tr><td>0</td><td>no failure matched a known misconception</td><td></td></tr>"
    ignored = [o.message for o in outcomes if not o.student]
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in [*notes, *ignored]) or \
        "<li>none</li>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(assignment)}: class report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:75em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}img{{max-width:100%}}</style>
</head><body><h1>{html.escape(assignment)}: class report</h1>
<p>{len(students)} students: {tally(outcomes)}. Scores after late penalties: {stats};
{sum(o.late for o in students)} late.</p>
{_plots(students, max_score)}
{_question_table(students)}
<h2>Misconceptions named in failed checks</h2>
<table><tr><th>students</th><th>likely cause</th><th>who</th></tr>{causes}</table>
<h2>Students</h2><table><tr><th>student (feedback)</th><th>score</th><th>status</th>
<th>submitted</th><th>late</th><th>flags / reason</th></tr>{rows}</table>
<h2>Ignored entries and notes</h2><ul>{notes_html}</ul></body></html>
"""


def tally(outcomes: list[Outcome]) -> str:
    """``42 graded, 3 need review, 2 not graded, 0 ignored`` (and any grading failures)."""
    count = Counter(o.status for o in outcomes)
    parts = [f"{count['graded']} graded", f"{count['needs review']} need review",
             f"{count['not graded']} not graded"]
    if count["grading failed"]:
        parts.append(f"{count['grading failed']} grading failed")
    return ", ".join([*parts, f"{count['ignored']} ignored"])
