"""Analysis of result rows (statistics) and the reports written from it (JSON/CSV, Markdown, charts, HTML)."""
