"""The main job end to end: regenerate, build the demo class, grade it, print the table."""

from autograder import demo, submissions


def test_demo_class_is_graded_end_to_end(course, capsys):
    grades = {(g.student, g.assignment): g for g in demo.run(course)}
    table = capsys.readouterr().out
    for (student, assignment), grade in grades.items():
        assert student in table
        if student == "demo-broken":
            assert grade.status == "not graded"
            assert "is not a valid notebook" in grade.message
            continue
        assert grade.status == "graded", grade.message
        if student == "demo-solution":
            assert grade.score == grade.max_score > 0
        elif student == "demo-blank":
            assert grade.score == 0
        else:
            bug = next(v for v in submissions.catalogue(assignment)
                       if v.name == demo.DEMO_BUGS[assignment])
            assert grade.failed_cells() == sorted(bug.expected_failures)
            assert 0 < grade.score < grade.max_score
