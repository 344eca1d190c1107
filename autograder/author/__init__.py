"""The author's tools: normalise, the solutions site, the bug catalogue and its submissions."""
