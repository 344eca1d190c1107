"""The demo: generated classes of students, graded with the full pipeline."""
