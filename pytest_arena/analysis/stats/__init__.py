"""Statistics over result rows: cells, clustered intervals, paired comparisons, router metrics,
re-pricing and the original project's legacy bootstrap. Reports live in ``pytest_arena.analysis.report``;
``pytest_arena.analysis.analyze`` ties both together."""
