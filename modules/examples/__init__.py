"""Model files for the wiring check: one wired right, one with a deliberate mistake for mypy to find."""
