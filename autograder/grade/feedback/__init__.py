"""Feedback: the student's page, true to the recorded score and free of hidden tests."""
