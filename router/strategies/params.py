"""Every threshold and limit a shipped strategy uses, as a named, documented, validated param.

Params are flat dotted names (``heuristic.threshold``), so a threshold sweep is a list of small
dicts in the config (``strategy_params: {heuristic.threshold: 8}``). Defaults are the original
router's constants. Each group below is one shipped strategy's own; a strategy's record lists
every param it reads (cascade reads heuristic's, legacy's and the classifier's). The registry's
``validate_params`` merges a run's params over its strategy's defaults.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["CASCADE", "CLASSIFIER", "HEURISTIC", "KNN", "LEGACY", "PARAM_KINDS", "RULES", "ParamKind", "ParamSpec",
           "param"]

ParamKind = Literal["int", "number", "str-list"]
PARAM_KINDS: tuple[ParamKind, ...] = ("int", "number", "str-list")


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One tunable of a strategy, set in ``router.params`` under its dotted name (``group.name``)."""

    default: Any
    kind: ParamKind
    minimum: float | None
    doc: str

    def check(self, key: str, value: Any) -> Any:
        """``value`` if it fits this param, else ValueError naming ``key`` and what was expected."""
        where = f"strategy param {key!r}"
        if self.kind == "str-list":
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise ValueError(f"{where} must be a list of non-empty strings, got {value!r}")
            return list(value)
        # bool is an int in Python; a threshold of `true` is a config mistake, not 1.
        if isinstance(value, bool) or not isinstance(value, int if self.kind == "int" else (int, float)):
            expected = "an integer" if self.kind == "int" else "a number"
            raise ValueError(f"{where} must be {expected}, got {value!r} ({type(value).__name__})")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{where} must be >= {self.minimum:g}, got {value!r}")
        return value


RULES: dict[str, ParamSpec] = {
    "rules.token_limit": ParamSpec(
        4000, "int", 0, "prompt tokens (all messages, ceil(chars/4)) above which `rules` goes cloud"),
    "rules.code_blocks": ParamSpec(
        3, "int", 1, "``` code blocks in the last user message at or above which `rules` goes cloud"),
}
LEGACY: dict[str, ParamSpec] = {
    "legacy.threshold": ParamSpec(
        25, "number", None, "legacy score at or above which a non-agent call goes cloud"),
    "legacy.many_tools": ParamSpec(
        25, "int", 0, "number of offered tools at or above which the legacy score gets +6"),
}
HEURISTIC: dict[str, ParamSpec] = {
    "heuristic.threshold": ParamSpec(
        12, "number", None, "agent-heuristic score at or above which an agent call goes cloud"),
    "heuristic.agent_markers": ParamSpec(
        [], "str-list", None,
        "extra system-prompt phrases that mark an agent call (whole words, any case)"),
}
CLASSIFIER: dict[str, ParamSpec] = {
    "classifier.max_chars": ParamSpec(
        4000, "int", 1, "characters of the last user message the classifier sees"),
    "classifier.max_tokens": ParamSpec(
        4, "int", 1, "output cap of the classifier call (it must answer one word)"),
}
KNN: dict[str, ParamSpec] = {
    "knn.k": ParamSpec(5, "int", 1, "neighbours that vote in `embedding-knn`"),
    "knn.max_chars": ParamSpec(
        4000, "int", 1, "characters of the last user message that are embedded"),
}
CASCADE: dict[str, ParamSpec] = {
    "cascade.threshold": ParamSpec(
        15, "number", None, "heuristic distance above which `cascade` trusts the heuristic alone"),
}


_SHIPPED: dict[str, ParamSpec] = RULES | LEGACY | HEURISTIC | CLASSIFIER | KNN | CASCADE


def param(params: dict[str, Any], key: str) -> Any:
    """A shipped param's value, falling back to its default when the caller passed an unmerged dict."""
    value = params.get(key)
    return _SHIPPED[key].default if value is None else value
