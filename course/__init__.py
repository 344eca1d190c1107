"""Helpers for the Conv2D backprop course: trusted references, grading checks, cases and plots.

Nothing here solves a graded exercise: the references call PyTorch in float64, which the graded
functions are not allowed to use.
"""
