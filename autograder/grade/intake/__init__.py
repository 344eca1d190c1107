"""Intake: a class's export read student by student, each notebook rebuilt, its lateness."""
