"""Lateness: each assignment's due date and late policy, set in ``nbgrader_config.py``.

```python
c.Lateness.duedates = {"01_forward": "2026-12-01 23:59:00 UTC"}
c.LateSubmissionPlugin.penalty_method = "zero"   # nbgrader's own policy ("none" by default)
c.AssignLatePenalties.plugin_class = MyPolicy    # or any LateSubmissionPlugin subclass
```

The penalty is nbgrader's: the plugin ``AssignLatePenalties`` would use, asked the same question
(student, score, seconds late), and kept between 0 and the score as nbgrader keeps it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from traitlets import Dict, Unicode
from traitlets.config import Config, LoggingConfigurable

from autograder import course_root


class Lateness(LoggingConfigurable):
    """Due dates by assignment (any time nbgrader's ``parse_utc`` reads; UTC if no zone)."""

    duedates = Dict(value_trait=Unicode(), default_value={},
                    help="Due date of each assignment, e.g. {'01_forward': "
                    "'2026-12-01 23:59:00 UTC'}.").tag(config=True)


class BadDueDate(ValueError):
    """A due date in nbgrader_config.py that cannot be read as a time."""


@dataclass(frozen=True)
class Policy:
    """One assignment's due date (naive UTC, or None) and the course's late policy."""

    due: datetime.datetime | None
    config: Config

    def seconds_late(self, submitted_at: datetime.datetime | None) -> float:
        if self.due is None or submitted_at is None:
            return 0.0
        return max(0.0, (submitted_at - self.due).total_seconds())

    def penalty(self, student: str, score: float, seconds_late: float) -> float:
        """nbgrader's late penalty for this score (0 when on time)."""
        if seconds_late <= 0:
            return 0.0
        from nbgrader.preprocessors import AssignLatePenalties

        assigner = AssignLatePenalties(config=self.config)
        penalty = assigner.plugin_class(parent=assigner).late_submission_penalty(
            student, score, seconds_late)
        return 0.0 if penalty is None else min(max(float(penalty), 0.0), score)


def policy(root: Path, assignment: str) -> Policy:
    """The late policy of ``assignment`` in the course at ``root``."""
    from nbgrader.utils import parse_utc

    config = course_root.load_config(root)
    text = Lateness(config=config).duedates.get(assignment)
    try:
        return Policy(parse_utc(text) if text else None, config)
    except (ValueError, OverflowError) as error:  # dateutil's ParserError is a ValueError
        raise BadDueDate(f"c.Lateness.duedates[{assignment!r}] = {text!r} is not a time: "
                         f"{error}") from None
