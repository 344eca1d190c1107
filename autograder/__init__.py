"""The instructor's pipeline on top of nbgrader: release, grade, report."""

import warnings

# nbgrader 0.9.6 with SQLAlchemy 2.1 warns "Object of type <SubmittedNotebook> not in session"
# several times on every autograde; the rows are written all the same. Every process that grades
# (pool workers, Dask workers, the coordinator) imports this package first.
warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session")
# nbformat warns when a submitted notebook repeats a cell id, and renames the copy; intake
# reports the duplicated cell as a flag of that student, so the terminal needs no warning.
warnings.filterwarnings("ignore", message=r"Non-unique cell id")
