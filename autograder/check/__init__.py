"""The student's verb: check a saved notebook as grading would, with the visible tests."""
