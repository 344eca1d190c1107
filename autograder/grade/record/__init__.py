"""Record: graded submissions into the course's nbgrader gradebook."""
