"""The students' verb: `autograder check NOTEBOOK` runs the visible tests and says what passes."""

import nbformat

from autograder import check, cli, course_root, grading, submissions

REPO = course_root.REPO_ROOT


def test_blank_notebook_fails_and_solution_passes(tmp_path, capsys):
    source = course_root.notebooks(REPO, "01_forward")[0]
    released = course_root.notebooks(REPO, "01_forward", "release")[0]
    blank = tmp_path / "blank" / released.name
    blank.parent.mkdir()
    blank.write_text(released.read_text())
    assert cli.main(["check", str(blank)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  test_forward_basic" in out and "not implemented yet" in out

    solved = tmp_path / "solved" / released.name
    solved.parent.mkdir()
    code = submissions.solution_cells(nbformat.read(source, as_version=4))
    solved.write_text(grading.notebook_text(
        submissions.fill(nbformat.read(released, as_version=4), code)))
    results = check.test_results(solved)
    assert results and all(not error for _, _, error in results)
    total = sum(points for _, points, _ in results)
    assert cli.main(["check", str(solved)]) == 0
    assert f"Visible tests: {total:g} of {total:g} points pass" in capsys.readouterr().out
