"""The grading pipeline: one sub-package a stage, in the order a submission meets them."""
