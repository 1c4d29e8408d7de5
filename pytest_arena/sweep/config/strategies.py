"""The config's strategy axis: a strategy name checked against the registry, a sweep entry
(``{name: {param: [values]}}``) checked by the strategy's own param rules, and the operating point
(``StrategyPoint``) each swept value becomes.

Apart from the schema because the names come from a registry that conftests and plugins extend
(``pytest_arena.router.strategies``), and because cells are keyed by ``StrategyPoint`` labels that
must not change: a resumed sweep finds its rows by them.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, GetJsonSchemaHandler

__all__ = ["StrategyEntry", "StrategyName", "StrategyPoint", "check_strategy_entry"]


def _known_strategy(name: Any) -> str:
    """``name`` if a strategy of that name is registered (shipped, or by a conftest or plugin);
    else ValueError naming the closest registered name, or all of them."""
    from pytest_arena.router.strategies import strategy_names

    names = strategy_names()
    if isinstance(name, str) and name in names:
        return name
    hint = difflib.get_close_matches(str(name), names, n=1)
    raise ValueError(f"unknown strategy {name!r}"
                     + (f"; did you mean {hint[0]!r}?" if hint else f"; choose one of: {', '.join(names)}"))


class _StrategyNamesInSchema:
    """In the JSON schema, a strategy name is one of the registered names (an enum editors offer)."""

    @staticmethod
    def __get_pydantic_json_schema__(core_schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        from pytest_arena.router.strategies import strategy_names

        schema = dict(handler(core_schema))
        schema["enum"] = list(strategy_names())
        return schema


# A routing strategy's name, checked against the registry (pytest_arena.router.strategies).
StrategyName = Annotated[str, AfterValidator(_known_strategy), _StrategyNamesInSchema()]
# One entry of benchmark.strategies: a name, or {name: {param: value or [values to sweep]}}.
StrategyEntry = StrategyName | dict[str, dict[str, Any]]  # entries checked by check_strategy_entry


@dataclass(frozen=True, slots=True)
class StrategyPoint:
    """One operating point of a strategy: its name and the swept parameter values (full dotted
    names, in the config's order). Unparametrised strategies have no params and keep their name
    as the label, so their cell keys (and resumable rows) are the ones they always had."""

    strategy: str
    params: tuple[tuple[str, int | float], ...] = ()

    @property
    def label(self) -> str:
        """``cascade@threshold=15``: the strategy's own params lose their group prefix."""
        if not self.params:
            return self.strategy
        from pytest_arena.router.strategies import get_strategy

        own = get_strategy(self.strategy).param_groups[0]
        parts = [f"{key.removeprefix(own + '.')}={_format_value(value)}" for key, value in self.params]
        return f"{self.strategy}@{','.join(parts)}"

    @property
    def keyword(self) -> str:
        """The label spelt in characters ``-k`` accepts: ``cascade-threshold-15``."""
        return re.sub(r"[@=,]", "-", self.label)


def _format_value(value: int | float) -> str:
    return str(value) if isinstance(value, int) else format(value, "g")


def check_strategy_entry(entry: Any, index: int) -> Any:
    """A name stays a name; {name: {param: values}} comes back with full dotted param names and
    every value checked by the strategy's own param rules. ValueError names the entry."""
    from pytest_arena.router.strategies import get_strategy, param_specs, validate_params

    where = f"entry {index + 1}"

    def known(name: Any) -> str:
        try:
            return _known_strategy(name)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None

    if not isinstance(entry, dict):
        return known(entry)
    if len(entry) != 1:
        raise ValueError(f"{where}: a sweep entry names one strategy, e.g. {{cascade: {{threshold: [5, 10]}}}}; "
                         f"got {len(entry)} keys")
    (name, params), = entry.items()
    name = known(name)
    where = f"{where} ({name})"
    if params is None or params == {}:
        return name
    if not isinstance(params, dict):
        raise ValueError(f"{where}: the parameters must be a mapping like {{threshold: [5, 10]}}, got {params!r}")
    groups = get_strategy(name).param_groups
    if not groups:
        raise ValueError(f"{where}: {name} has no parameters to sweep; list it as a plain name")
    specs = param_specs()
    checked: dict[str, list[Any]] = {}
    for key, values in params.items():
        full = str(key) if "." in str(key) else f"{groups[0]}.{key}"
        if full not in specs:
            names = sorted(k.removeprefix(groups[0] + ".") for k in specs if k.split(".")[0] in groups)
            hint = difflib.get_close_matches(str(key), names, n=1)
            raise ValueError(f"{where}: unknown parameter {key!r}"
                             + (f"; did you mean {hint[0]!r}?" if hint else f"; {name} reads: {', '.join(names)}"))
        if specs[full].kind == "str-list":
            raise ValueError(f"{where}: {full} is a list of phrases and cannot be swept; set it in router.params")
        values = values if isinstance(values, list) else [values]
        if not values:
            raise ValueError(f"{where}: parameter {key!r} lists no values; give at least one")
        for value in values:
            try:
                validate_params(name, {full: value})
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
        if len({_format_value(v) for v in values}) != len(values):
            raise ValueError(f"{where}: parameter {key!r} lists a value twice: {values}")
        if full in checked:
            raise ValueError(f"{where}: parameter {full!r} is given twice (as {key!r} and its full name)")
        checked[full] = values
    return {name: checked}
