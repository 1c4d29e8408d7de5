"""pytest-arena as a user gets it: the sdist and the wheel built from this tree, installed into a fresh
virtual environment outside any checkout."""
