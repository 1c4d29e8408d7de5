"""The cell-folder reference (``docs/reference/cell-folder.md``): the files of ``cells/<cell>/``, named by
the constants the code writes them under (``cell/story.py``, the real-prs task, the runner's folders),
each with what it holds. A file name the code defines in ``cell/story.py`` and this table does not
describe stops generation with an error naming it, so a new file cannot go undocumented."""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["cell_folder_markdown", "entries"]


@dataclass(frozen=True)
class Entry:
    name: str  # as the code spells it; a trailing "/" for a folder
    when: str  # when the file is there
    holds: str


def entries() -> list[Entry]:
    from pytest_arena.cell import story
    from pytest_arena.tasks.realprs.task import PREDICTION_FILE, PREDICTION_NOTES

    return [
        Entry(story.ROW, "always",
              "the cell's row exactly as its `raw.jsonl` line (`artifacts` included), indented; written by the "
              "controller as it stores the row (by the host itself when the folder is over "
              "`hosts.artifacts_cap_mb` and stays there)"),
        Entry(story.PATCH, "always",
              "the agent's change: a unified diff in git's layout from the workspace as populated before the agent "
              "ran to the workspace it left, files in path order. Binary files, unreadable ones, files over 1 MiB "
              "and files past the first 32 MiB of text are named (`Binary files a/X and b/X differ`); odd paths "
              "are C-quoted as git does, so no name reads as a hunk; symlinks are compared by target; "
              + ", ".join(f"`{name}`" for name in sorted(story.SKIPPED_DIRS))
              + " are left out. Empty when the agent changed nothing"),
        Entry(story.CALLS, "always",
              "the run's ledger records, byte for byte the lines `ledger/ledger.<worker>.jsonl` got for this "
              "`run_id` (the results folder's ledger: [Outputs](../outputs.md))"),
        Entry(story.TRANSCRIPT, "agents that call a model; not with `router.transcript: off`",
              "every routed call's canonical request and response, which side served it and why, classifier and "
              "embedding calls marked; bodies over 16 KiB gzip'd, the run's token and API keys replaced by `***`; "
              "`router.transcript: meta` keeps each call's facts without bodies"),
        Entry(story.TEST_OUTPUT, "always",
              "the acceptance run: `acceptance run: <pass/fail/infra_error>, P/T tests passed (sandbox K, S s)`, "
              "`reason: …`, the tests that did not pass, then pytest's own output (the last 16 KiB of its stdout "
              "and of its stderr; its counts include the scorer's two planted tests). `the acceptance tests did "
              "not run: <why>` when they did not"),
        Entry("junit.xml", "when the acceptance tests ran",
              "the acceptance run's JUnit XML report, as the scorer read it"),
        Entry("logs/", "always", "the agent's stdout and stderr and its own artifacts (cut to their last 16 MiB)"),
        Entry("workspace/", "always", "the workspace as the agent left it (within the config's `limits`)"),
        Entry(story.NOT_COPIED, "when the workspace held a FIFO, a socket or a device",
              "one line each, `path: fifo, not read`; never copied. The row's `leftovers.notes` holds the first "
              "50 lines"),
        Entry(story.NOT_EXTRACTED, "when the agent left a symlink, a hard link, a FIFO or a device",
              "one line each, `path: symlink -> target, not extracted`: the controller never makes such things "
              "in the results folder; the row's `artifacts.not_extracted` holds the same lines"),
        Entry(PREDICTION_FILE, "real-prs cells",
              "the agent's diff against `base_commit` as a SWE-bench prediction (`instance_id`, "
              "`model_name_or_path`, `model_patch`), ready for `python -m swebench.harness.run_evaluation`"),
        Entry(PREDICTION_NOTES, "real-prs cells whose workspace holds what a diff leaves out",
              "what the prediction's diff leaves out (nested git data, FIFOs and other special files, unreadable "
              "files), one line each"),
    ]


def _undocumented(described: set[str]) -> list[str]:
    """File names ``cell/story.py`` defines that the table does not describe."""
    from pytest_arena.cell import story

    names = {value for key, value in vars(story).items()
             if key.isupper() and isinstance(value, str) and re.fullmatch(r"[\w.-]+\.\w+", value)}
    return sorted(names - described)


def cell_folder_markdown() -> str:
    rows = entries()
    missing = _undocumented({entry.name for entry in rows})
    if missing:
        raise ValueError(f"cell/story.py names cell files that docgen/cell_folder.py does not describe: "
                         f"{', '.join(missing)}; add an Entry for each")
    lines = ["| file | there | what it holds |", "|---|---|---|"]
    for entry in rows:
        lines.append(f"| `{entry.name}` | {entry.when} | {entry.holds.replace('|', '/')} |")
    return "\n".join(lines) + "\n"
