"""Report: a graded class written to disk, exported for an LMS, saved for a regrade."""
