"""The main job end to end: regenerate, build the demo classes, grade them, print the tables."""

import os
import shutil

import pytest

from autograder.demo import demo, demo_class


@pytest.mark.skipif(shutil.which("bwrap") is None and os.environ.get("CI") != "true",
                    reason="bubblewrap is not installed (CI installs it; see .ci/run)")
def test_demo_classes_are_graded_end_to_end(course, capsys):
    results = demo.run(course, workers=2)
    tables = capsys.readouterr().out
    expected = {s.name: s for s in demo_class.STUDENTS}
    for assignment, outcomes in results.items():
        assert (course / "graded" / assignment / "report.html").is_file()
        for o in outcomes:
            assert o.student in tables
            max_score = sum(c.max_score for c in o.cells.values())
            if o.student == "broken":
                assert o.status == "not graded" and "not a valid notebook" in o.message
            elif o.student == "solution":
                assert o.status == "graded" and o.score == max_score > 0
            elif o.student == "blank":
                assert o.status == "graded" and o.score == 0
            elif o.student == "buggy":
                lost = sorted(g for g in o.cells if o.points(g) < o.cells[g].max_score)
                assert lost == sorted(demo.demo_bug(assignment).expected_failures)
            else:  # a malicious student of notebook 01
                student = expected[o.student]
                assert o.status == student.status
                assert all(o.points(g) == 0 for g in student.zero)
