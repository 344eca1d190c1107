"""nbgrader configuration: the repository root is the course root."""

from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from autograder.grade.feedback.feedback import ExplainGrading, FeedbackExporter, ScrubHiddenTests

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.course_id = "conv2d-backprop"

# A stub that makes every unanswered exercise fail loudly, and a clear text stub.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Grading runs the kernel with short tracebacks (no source lines of hidden tests leak into
# feedback), a per-cell time limit, and an immediate shutdown (a graceful one sometimes stalls).
c.Execute.timeout = 120
# The kernel keeps no history file: the test cells it ran stay out of any file its code can read.
c.Execute.extra_arguments = ["--InteractiveShell.xmode=Minimal",
                             "--HistoryManager.hist_file=:memory:"]
c.Execute.shutdown_kernel = "immediate"
# Students can tag a test cell to be skipped; only this (private) tag is honoured.
c.Execute.skip_cells_with_tag = "course-internal-skip-4f1c9e"

# Text on stderr (a library warning, a student's debug print) must not zero a correct test cell:
# drop every stderr stream from the outputs. A failing test is an error output, which stays.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?s)."

# Feedback shows every test cell's source and every output: strip the hidden tests from both
# (a student's code can print a test cell's source from a hook; `autograder grade` also replaces
# every output printed after hidden tests ran, autograder/grade/feedback/feedback_safety.py), and
# sanitise the HTML a student's code displayed (no script reaches the reader's browser).
c.GenerateFeedback.preprocessors = [GetGrades, ExplainGrading, CSSHTMLHeaderPreprocessor,
                                    ScrubHiddenTests, ClearHiddenTests, SanitizeHTML]
c.SanitizeHTML.enabled = True  # an nbconvert preprocessor is off until enabled
# Markdown and LaTeX outputs are dropped, not sanitised: they become HTML (a `javascript:` link)
# after the sanitiser has run. Text, images and sanitised HTML stay.
c.SanitizeHTML.sanitized_output_types = {"text/html"}
c.SanitizeHTML.safe_output_keys = {"metadata", "text/plain", "image/png", "image/jpeg",
                                   "application/json"}
# Feedback says what the grader ran and the recorded score where the re-check overruled nbgrader
# (ExplainGrading); its formulas are MathML, so the page renders them without the network.
c.GenerateFeedback.exporter_class = FeedbackExporter

# `autograder grade` runs on a Dask cluster when this names its scheduler (docs/scale.md);
# unset, it grades on a local pool of processes.
# c.GradingCluster.scheduler = "tcp://grading-scheduler:8786"
