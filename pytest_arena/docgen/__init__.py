"""Generators for the README's generated sections (the task table, the cell-files list)."""
