"""Run: a submission's stages as one task, tasks on a pool or cluster, the whole class."""
