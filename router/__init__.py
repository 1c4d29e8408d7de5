"""The pytest-arena routing proxy: front doors, strategies, backends, guards, ledger."""
