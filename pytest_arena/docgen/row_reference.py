"""The row reference (``docs/reference/rows.md``): every field of a ``raw.jsonl`` row, generated from the
pydantic models that define the row (``pytest_arena/cell/rows.py``). Names, types and defaults come
from the models; the meaning of a field is the comment written beside it (or in the comment lines just
above it) in that module, read from its source, so the code's own notes are the one place to edit.
Fields that carry no comment there take their meaning from ``NOTES`` below; a field with both is an
error (``rows_markdown`` names it), so each meaning has one home. Nested models get a table each, in
the order the row first mentions them, and the outcomes a table of their own (``outcomes.py``)."""
from __future__ import annotations

import ast
import inspect
import io
import json
import re
import tokenize
import types
import typing
from enum import Enum
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

__all__ = ["rows_markdown", "task_yaml_markdown"]

_DIVIDER = re.compile(r"^-{2,}\s*(.*?)\s*-{2,}$")  # "# ---- the original project's fields ----"

# Meanings of the fields rows.py leaves without a comment (a comment added there replaces its entry here).
NOTES: dict[str, dict[str, str]] = {
    "Row": {
        "task_id": "the task's id, e.g. `real-dev/d6-toposort`",
        "hardware_profile_ref": "the machine in one string: CPU model, CPUs, memory, git sha and Python version "
                                "joined by vertical bars",
        "tokens": "token counts summed over the cell's calls, from the router's ledger",
        "latency": "where the cell's time went",
        "quality": "what the acceptance tests said",
        "routing": "how the cell's calls were routed",
        "started_at": "ISO-8601 UTC time the cell started",
        "finished_at": "ISO-8601 UTC time the cell finished",
        "cloud_model_id": "the cloud model as the config names it (`gpt-5.5`, `scripted`, ...)",
        "local_model_id": "the local model as the config names it (`qwen3.6:35b`, `embedded/smollm2-135m`, ...)",
        "router_classifier_model_id": "the model the llm-classifier and cascade strategies ask",
        "seed": "the seed, sent to the router (seed and temperature fields) and to the agent",
        "config_sha": "sha256 of the sweep config (every field but how a run proceeds: resume, failures_ok, "
                      "hosts, router.transcript): one experiment, the same on every host",
        "schema_version": "the row format's version; raised on an incompatible change",
        "outcome": "what happened to the cell (see [Outcome](#outcome))",
        "expect": "the outcome the config expects for this agent (`benchmark.expect`); the cell's pytest test "
                  "passes when the outcome matches",
        "node_id": "the pytest node id, e.g. `configs/smoke.yaml::real-dev/d5-csv-dedupe[aider-cascade-s42]`",
        "run_id": "the router run that served the cell: its ledger records and transcript carry it",
        "shape": "the task's shape (`puzzle`, `D1`, `D5`, `D6`, ...)",
        "agent_version": "the installed version of the agent that ran",
        "agent_exit_code": "the agent process's exit code; null when it never started or was killed",
        "provenance": "what produced the row: versions, interpreter, hardware, host",
    },
    "Tokens": {
        "prompt": "prompt tokens of every call, local and cloud",
        "completion": "completion tokens of every call",
        "cached": "cached prompt tokens of every call",
        "reasoning": "reasoning tokens, where the provider reports them",
        "local_prompt": "prompt tokens of the local model's calls",
        "local_completion": "completion tokens of the local model's calls",
        "cloud_prompt": "prompt tokens of the cloud model's calls (re-pricing prices these)",
        "cloud_completion": "completion tokens of the cloud model's calls",
    },
    "Routing": {
        "total_calls": "calls the cell made through the router",
        "local_calls": "calls served by the local model",
        "cloud_calls": "calls served by the cloud model",
    },
    "Provenance": {
        "harness_version": "the pytest-arena version",
        "python": "the Python version that ran the cell",
        "platform": "`platform.platform()` of the host",
        "cpu": "the CPU model",
        "cpus": "logical CPUs",
        "memory_gb": "the host's memory, GiB",
        "pricing_sha256": "sha256 of the pricing table the router priced calls with",
    },
    "TaskSpec": {
        "shape": "`puzzle` (a self-contained exercise) or one of the original project's shapes: `D1` a feature "
                 "added to an existing app, `D5` a script, `D6` a hard single-file build",
        "title": "one line shown in reports",
        "source": "where the task comes from (`pytest-arena (own work)`, an upstream exercise)",
        "license": "the task's licence (SPDX id)",
        "prompt": "the prompt the agent gets, verbatim",
        "prompt_file": "a file of the task folder holding the prompt; without `prompt` or `prompt_file`, `prompt.md`",
    },
    "Artifacts": {
        "host": "the host that holds the cell folder",
        "path": "where on that host, when the folder stayed there",
        "compressed_bytes": "size of the folder as it travelled (gzip'd tar)",
    },
}


def _comments(source: str) -> dict[int, str]:
    """Line number -> the text of the comment on that line (without ``#``)."""
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            found[token.start[0]] = token.string.lstrip("#").strip()
    return found


def _field_notes(model: type[BaseModel]) -> tuple[dict[str, str], dict[str, str]]:
    """(field -> its comment, field -> the divider title that precedes it) from the model's source."""
    source = inspect.getsource(inspect.getmodule(model))  # type: ignore[arg-type]
    comments = _comments(source)
    lines = source.splitlines()
    tree = ast.parse(source)
    cls = next(node for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and node.name == model.__name__)
    notes: dict[str, str] = {}
    dividers: dict[str, str] = {}
    for statement in cls.body:
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
            continue
        name = statement.target.id
        trailing = [comments[n] for n in range(statement.lineno, (statement.end_lineno or statement.lineno) + 1)
                    if n in comments]
        above: list[str] = []
        number = statement.lineno - 1
        while number >= 1 and lines[number - 1].strip().startswith("#"):
            text = comments.get(number, "")
            divider = _DIVIDER.match(text)
            if divider:
                dividers[name] = divider.group(1)
                break
            above.insert(0, text)
            number -= 1
        notes[name] = " ".join(above + trailing)
    return notes, dividers


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if annotation is type(None):
        return "null"
    if origin is Literal:
        return " \\| ".join(json.dumps(arg) for arg in get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(arg) for arg in get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(arg) for arg in get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]" if args else origin.__name__
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
        if issubclass(annotation, BaseModel):
            return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
        names = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "dict": "object",
                 "list": "list"}
        return names.get(annotation.__name__, annotation.__name__)
    return str(annotation)


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _nested_models(arg)]


def _default(model: type[BaseModel], name: str) -> str:
    field = model.model_fields[name]
    if field.is_required():
        return "required"
    return f"`{json.dumps(field.get_default(call_default_factory=True))}`"


def _model_section(model: type[BaseModel], heading: str) -> list[str]:
    lines = [f"### {heading}", ""]
    doc = vars(model).get("__doc__")  # the model's own docstring, not one it inherits
    if doc:
        lines += [" ".join(doc.split()), ""]
    return lines + model_table(model)


def model_table(model: type[BaseModel]) -> list[str]:
    """One Markdown table of the model's fields (their YAML/JSON names: aliases where set). A field's
    meaning is its ``description``, else the comment beside it in the source, else its ``NOTES`` entry."""
    comments, dividers = _field_notes(model)
    for name, field in model.model_fields.items():
        if field.description:
            comments[name] = field.description
    notes = NOTES.get(model.__name__, {})
    lines: list[str] = []
    header = ["| field | type | default | meaning |", "|---|---|---|---|"]
    for index, (name, field) in enumerate(model.model_fields.items()):
        if name in dividers:
            lines += ([""] if index else []) + [f"*{dividers[name][0].upper()}{dividers[name][1:]}:*", "", *header]
        elif index == 0:
            lines += header
        if comments.get(name) and name in notes:
            raise ValueError(f"{model.__name__}.{name} has a comment in its module and an entry in "
                             f"docgen/row_reference.py NOTES: remove the NOTES entry")
        meaning = (comments.get(name) or notes.get(name, "")).replace("|", "\\|")
        shown = field.alias or name
        lines.append(f"| `{shown}` | {_type_name(field.annotation)} | {_default(model, name)} | {meaning} |")
    return lines + [""]


def _outcome_section() -> list[str]:
    from pytest_arena.outcomes import TEST_STATUS, Outcome

    source = inspect.getsource(inspect.getmodule(Outcome))  # type: ignore[arg-type]
    comments = _comments(source)
    meaning = {}
    for number, line in enumerate(source.splitlines(), start=1):
        member = re.match(r"\s+([A-Z_]+)\s*=", line)
        if member and number in comments:
            meaning[member.group(1)] = comments[number]
    lines = ["### Outcome", "",
             "Every outcome but `infra_error` counts in pass rates. pytest shows each cell's outcome as a test "
             "result: its category, its letter in the progress line and its word with `-v`.", "",
             "| outcome | pytest | letter | word | meaning |", "|---|---|---|---|---|"]
    for outcome in Outcome:
        category, letter, word = TEST_STATUS[outcome]
        text = meaning.get(outcome.name, "the acceptance tests passed" if outcome is Outcome.PASS else "")
        lines.append(f"| `{outcome.value}` | {category} | `{letter}` | `{word}` | {text} |")
    return lines + [""]


def rows_markdown() -> str:
    """Every model of the row, the row first, as Markdown tables."""
    from pytest_arena.cell.rows import ROW_SCHEMA_VERSION, Row

    order: list[type[BaseModel]] = [Row]
    for model in order:  # breadth-first over the nested models, each once
        for field in model.model_fields.values():
            for nested in _nested_models(field.annotation):
                if nested not in order:
                    order.append(nested)
    lines = [f"Row schema version {ROW_SCHEMA_VERSION} (`schema_version`). Unknown fields are refused "
             f"(`extra=\"forbid\"` on every model).", ""]
    for model in order:
        lines += _model_section(model, "Row (one line of raw.jsonl)" if model is Row else model.__name__)
    lines += _outcome_section()
    return "\n".join(lines).rstrip() + "\n"


def task_yaml_markdown() -> str:
    """The fields of a task folder's ``task.yaml`` (``pytest_arena/tasks/folder.py`` ``TaskSpec``)."""
    from pytest_arena.tasks.folder import TaskSpec

    return "\n".join(model_table(TaskSpec)).rstrip() + "\n"
