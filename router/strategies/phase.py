"""``phase-aware``: route aider's architect phase to the cloud and its editing phase locally.

Matched against what aider really sends (aider's ``coders/*_prompts.py``):

- architect mode's system prompt opens "Act as an expert architect engineer ..." -> cloud;
- the editor coders ("Act as an expert software developer who edits source code" /
  "... and make changes to source code") and the plain code mode of the whole-file and diff edit
  formats ("Act as an expert software developer.", the *file listing* / *SEARCH/REPLACE block*
  rules, and their few-shot example requests) -> local: the plan exists, this call writes edits;
- anything else (aider's ask mode, other agents) -> the legacy score.

The original looked for "you are an expert software engineer" + "architect", and for "editor",
which real aider prompts never contain together (and "editor" alone also names cline's edit tool).
"""
from __future__ import annotations

from pytest_arena.router.contracts import CanonicalRequest
from pytest_arena.router.strategies.base import Decision, Strategy, StrategyContext
from pytest_arena.router.strategies.heuristic import legacy
from pytest_arena.router.strategies.params import LEGACY
from pytest_arena.router.strategies.text import KeywordList, system_text

ARCHITECT_MARKERS = KeywordList(("act as an expert architect engineer",))
EDITOR_SYSTEM_MARKERS = KeywordList((
    "act as an expert software developer",  # editor-diff, editor-whole, and code mode
    "*search/replace block*",  # diff edit format rules
    "*file listing*",  # whole edit format rules
))
# The user turns of aider's few-shot examples (whole and diff formats); with
# examples_as_sys_msg they sit in the system prompt instead, which the system markers cover.
EDITOR_EXAMPLE_REQUESTS = KeywordList((
    "change the greeting to be more casual",
    "change get_factorial() to use math.factorial",
))


def _editor_examples_present(req: CanonicalRequest) -> bool:
    for message in req.messages:
        if message.role == "user" and len(message.content) < 200:
            if EDITOR_EXAMPLE_REQUESTS.found(message.content.lower()):
                return True
    return False


def decide(req: CanonicalRequest, ctx: StrategyContext) -> Decision:
    system = system_text(req.messages)
    architect = ARCHITECT_MARKERS.found(system)
    if architect:
        return Decision("cloud", f"phase-aware: architect phase ({architect[0]!r}) -> cloud", 1.0,
                        {"phase": "architect", "marker": architect[0]})
    editor = EDITOR_SYSTEM_MARKERS.found(system)
    if editor or _editor_examples_present(req):
        marker = editor[0] if editor else "aider few-shot edit example"
        return Decision("local", f"phase-aware: editor phase ({marker!r}) -> local", 1.0,
                        {"phase": "editor", "marker": marker})
    decision = legacy(req, ctx.params)
    decision.reason = "phase-aware[no phase marker -> legacy]: " + decision.reason
    decision.meta["phase"] = "fallback"
    return decision


STRATEGY = Strategy("phase-aware", decide, params=LEGACY)  # its fallback is the legacy score
