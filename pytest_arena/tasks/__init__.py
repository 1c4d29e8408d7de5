"""Tasks: the folder format and the real-prs class."""
