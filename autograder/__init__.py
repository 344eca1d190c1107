"""The instructor's pipeline on top of nbgrader: release, grade, report."""
