"""Generators for the README's generated sections (the task table, the cell-files list, the config
reference) and for ``configs/schema.json``."""
