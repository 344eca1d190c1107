"""The grading pipeline: one sub-package a stage, in the order a submission meets them."""

# The order, kept once: a stage imports only itself and the stages before it, and grading imports
# nothing of check/, author/ or demo/ (tests/test_layout.py; the map at the top of docs/grading.md).
# run/ drives the stages before it (it imports them all); report/ writes out what run/ returns.
STAGES = ("intake", "sandbox", "execute", "verify", "feedback", "record", "run", "report")
