"""The few HTML pieces report.html and the cell pages share: escaping, tables whose rows carry
filter attributes, and the page frame.

Everything shown comes from rows, ledgers and agent output, which an agent can shape: every value
goes through ``esc``, and each page sends a Content-Security-Policy that lets no script run but the
page's own inline one (cell pages: none at all), so a slip in escaping still runs nothing.
"""
from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
tr[hidden] { display: none; }
h3.harness, tr.harness td { color: #777; }
.note { color: #555; font-size: 0.9em; }
.evidence { color: #8a5a00; font-weight: 600; }
.recommended { font-weight: 600; }
img { max-width: 100%; border: 1px solid #ddd; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: 0.6em; overflow-x: auto; white-space: pre-wrap;
      word-break: break-word; font-size: 0.85em; max-height: 40em; overflow-y: auto; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 1.2em; font-size: 0.9em; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
.filters { background: #f7f7f7; border: 1px solid #ddd; padding: 0.5em 0.8em; margin: 0.5em 0; }
.filters label { margin-right: 1em; white-space: nowrap; }
.side { display: inline-block; min-width: 4.5em; text-align: center; border-radius: 3px; padding: 0 4px;
        font-weight: 700; font-size: 0.8em; color: #fff; }
.side-local { background: #2e7d32; } .side-cloud { background: #1565c0; } .side-none { background: #777; }
.call { border-left: 5px solid #777; padding: 0.2em 0.8em; margin: 0.8em 0; }
.call.local { border-color: #2e7d32; } .call.cloud { border-color: #1565c0; }
.outcome-pass { color: #2e7d32; font-weight: 600; } .outcome-bad { color: #b71c1c; font-weight: 600; }
.diff-add { color: #1b5e20; } .diff-del { color: #b71c1c; } .diff-hunk { color: #6a1b9a; }
"""

_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        "script-src {script}; base-uri 'none'; form-action 'none'")


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def attrs(values: Mapping[str, object]) -> str:
    """` name="value"` pairs, escaped; None values are left out."""
    return "".join(f' {name}="{esc(value)}"' for name, value in values.items() if value is not None)


def table(headers: list[str], rows: Iterable[tuple[Mapping[str, object], Sequence[object]]], *,
          table_id: str | None = None, css: str | None = None, raw_columns: frozenset[int] = frozenset()) -> str:
    """A table; each row is (tr attributes, cells). Cells are escaped except columns in
    ``raw_columns``, which the caller has built from escaped parts (links, marks)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row_attrs, cells in rows:
        tds = "".join(f"<td>{cell if i in raw_columns else esc(cell)}</td>" for i, cell in enumerate(cells))
        body.append(f"<tr{attrs(row_attrs)}>{tds}</tr>")
    return (f"<table{attrs({'id': table_id, 'class': css})}><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def facts(pairs: Iterable[tuple[str, str]]) -> str:
    return '<dl class="facts">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in pairs) + "</dl>"


def page(title: str, body: list[str], script: str | None = None) -> str:
    """A whole document; ``script`` (the page's own, inline) is the only script CSP lets run."""
    csp = _CSP.format(script="'unsafe-inline'" if script else "'none'")
    tail = f"<script>{script}</script>\n" if script else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(part for part in body if part) + "\n" + tail + "</body></html>\n")
