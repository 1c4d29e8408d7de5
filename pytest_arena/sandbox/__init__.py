"""Sandboxes: run one command contained (files, network, router link, memory, processes, wall time), and the hostile-file handling of what an agent leaves behind."""
