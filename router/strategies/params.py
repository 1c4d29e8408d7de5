"""Every threshold and limit a strategy uses, as a named, documented, validated param.

Params are flat dotted names (``heuristic.threshold``), so a threshold sweep is a list of small
dicts in the config (``strategy_params: {heuristic.threshold: 8}``). Defaults are the original
router's constants.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ParamSpec:
    default: Any
    kind: str  # "int" | "number" | "str-list"
    minimum: float | None
    doc: str


PARAM_SPECS: dict[str, ParamSpec] = {
    "rules.token_limit": ParamSpec(
        4000, "int", 0, "prompt tokens (all messages, ceil(chars/4)) above which `rules` goes cloud"),
    "rules.code_blocks": ParamSpec(
        3, "int", 1, "``` code blocks in the last user message at or above which `rules` goes cloud"),
    "legacy.threshold": ParamSpec(
        25, "number", None, "legacy score at or above which a non-agent call goes cloud"),
    "legacy.many_tools": ParamSpec(
        25, "int", 0, "number of offered tools at or above which the legacy score gets +6"),
    "heuristic.threshold": ParamSpec(
        12, "number", None, "agent-heuristic score at or above which an agent call goes cloud"),
    "heuristic.agent_markers": ParamSpec(
        [], "str-list", None,
        "extra system-prompt phrases that mark an agent call (whole words, any case)"),
    "classifier.max_chars": ParamSpec(
        4000, "int", 1, "characters of the last user message the classifier sees"),
    "classifier.max_tokens": ParamSpec(
        4, "int", 1, "output cap of the classifier call (it must answer one word)"),
    "knn.k": ParamSpec(5, "int", 1, "neighbours that vote in `embedding-knn`"),
    "knn.max_chars": ParamSpec(
        4000, "int", 1, "characters of the last user message that are embedded"),
    "cascade.threshold": ParamSpec(
        15, "number", None, "heuristic distance above which `cascade` trusts the heuristic alone"),
}

# Which param groups each strategy reads (cascade runs heuristic + classifier; phase-aware falls
# back to the legacy score).
STRATEGY_PARAM_GROUPS: dict[str, tuple[str, ...]] = {
    "always-local": (),
    "always-cloud": (),
    "rules": ("rules",),
    "heuristic": ("heuristic", "legacy"),
    "llm-classifier": ("classifier",),
    "embedding-knn": ("knn",),
    "cascade": ("cascade", "heuristic", "legacy", "classifier"),
    "phase-aware": ("legacy",),
}

STRATEGY_NAMES: tuple[str, ...] = tuple(STRATEGY_PARAM_GROUPS)


def _defaults_for(name: str) -> dict[str, Any]:
    groups = STRATEGY_PARAM_GROUPS[name]
    return {key: spec.default for key, spec in PARAM_SPECS.items() if key.split(".")[0] in groups}


DEFAULT_PARAMS: dict[str, dict[str, Any]] = {name: _defaults_for(name) for name in STRATEGY_NAMES}


def check_strategy_name(name: str) -> None:
    if name not in STRATEGY_PARAM_GROUPS:
        raise ValueError(
            f"unknown routing strategy {name!r}; choose one of: {', '.join(STRATEGY_NAMES)}")


def _check_value(key: str, value: Any, spec: ParamSpec) -> Any:
    where = f"strategy param {key!r}"
    if spec.kind == "str-list":
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValueError(f"{where} must be a list of non-empty strings, got {value!r}")
        return list(value)
    # bool is an int in Python; a threshold of `true` is a config mistake, not 1.
    numeric = (int,) if spec.kind == "int" else (int, float)
    if isinstance(value, bool) or not isinstance(value, numeric):
        expected = "an integer" if spec.kind == "int" else "a number"
        raise ValueError(f"{where} must be {expected}, got {value!r} ({type(value).__name__})")
    if spec.minimum is not None and value < spec.minimum:
        raise ValueError(f"{where} must be >= {spec.minimum:g}, got {value!r}")
    return value


def validate_params(name: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """Merge ``params`` over the strategy's defaults; raise ValueError naming a bad key or value."""
    check_strategy_name(name)
    # Copy list defaults so a caller mutating its merged params cannot change the defaults.
    merged = {k: list(v) if isinstance(v, list) else v for k, v in DEFAULT_PARAMS[name].items()}
    for key, value in (params or {}).items():
        spec = PARAM_SPECS.get(key)
        if spec is None:
            raise ValueError(
                f"unknown strategy param {key!r} (strategy {name!r}); known params: "
                f"{', '.join(sorted(PARAM_SPECS))}")
        if key not in merged:
            users = [s for s, groups in STRATEGY_PARAM_GROUPS.items() if key.split(".")[0] in groups]
            raise ValueError(
                f"strategy param {key!r} does not apply to strategy {name!r}; it is read by: "
                f"{', '.join(users)}")
        merged[key] = _check_value(key, value, spec)
    return merged


def param(params: dict[str, Any], key: str) -> Any:
    """A param's value, falling back to its default when the caller passed an unmerged dict."""
    value = params.get(key)
    return PARAM_SPECS[key].default if value is None else value
