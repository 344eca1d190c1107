"""Verify: re-check the student's functions with the tests outside the student's process."""
