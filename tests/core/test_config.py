"""The sweep config: the original layout loads unchanged, overrides are typed by the schema, and
every bad config ends in one message naming the file, the field and the fix."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_arena.errors import ConfigError
from pytest_arena.sweep.cells import expand_cells
from pytest_arena.sweep.config.backends import backend_spec
from pytest_arena.sweep.config.loading import load_config
from pytest_arena.sweep.config.schema import ArenaConfig
from pytest_arena.tasks.folder import discover_tasks

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = """\
variant_tag: t
out_dir: results/t
models: {cloud: scripted, local: embedded/smollm2-135m}
"""


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_original_v15_config_loads_unchanged_with_its_values():
    config = load_config(ROOT / "configs" / "v1.5-hard-qwen3.6.yaml")
    assert config.models.local == "qwen3.6:35b"
    assert config.router.strategy == "cascade"
    assert config.benchmark.seeds == [42, 7, 13]
    assert config.strategies == ["always-cloud", "always-local", "cascade"]
    assert config.resume is True


@pytest.mark.parametrize(
    ("name", "cells"),
    [("v1.5-hard-qwen3.6", 36), ("v1.5-hard-gemma4", 24), ("v1.4-canonical-gemma4", 468),
     ("v1.4-canonical-qwen3.6", 468), ("v1.4-opencode-fairness", 48), ("v1.4-strategy-sweep", 192),
     ("v1.4-smoke", 1), ("v1.5-hard-smoke", 1)],
)
def test_ported_configs_expand_to_the_originals_row_counts(name, cells):
    config = load_config(ROOT / "configs" / f"{name}.yaml")
    registry = discover_tasks(ROOT / "tasks")
    assert len(expand_cells(config, registry, name)) == cells


def test_real_prs_config_loads_with_local_scoring():
    config = load_config(ROOT / "configs" / "v1.4-real-prs.yaml")
    assert config.benchmark.task_classes == ["real-prs"] and config.scoring.real_prs == "local"


def _without_defaults(schema):
    """``additionalProperties: true`` is JSON Schema's default; pydantic releases differ on
    whether they spell it out, so it is dropped before comparing."""
    if isinstance(schema, dict):
        return {k: _without_defaults(v) for k, v in schema.items() if not (k == "additionalProperties" and v is True)}
    if isinstance(schema, list):
        return [_without_defaults(v) for v in schema]
    return schema


def test_schema_json_is_in_sync_with_the_model():
    on_disk = json.loads((ROOT / "configs" / "schema.json").read_text())
    assert _without_defaults(on_disk) == _without_defaults(json.loads(json.dumps(ArenaConfig.model_json_schema()))), (
        "configs/schema.json is stale: run `python -m pytest_arena schema`")


def test_sha_is_stable_and_changes_with_an_override(tmp_path):
    path = write(tmp_path, MINIMAL)
    assert load_config(path).sha256() == load_config(path).sha256()
    assert load_config(path).sha256() != load_config(path, ["benchmark.seeds=7"]).sha256()
    assert load_config(path).sha256() == load_config(path, ["resume=true"]).sha256()  # operational, not measured


@pytest.mark.parametrize(
    ("override", "check"),
    [
        ("benchmark.agents=cline", lambda c: c.benchmark.agents == ["cline"]),  # one item stays a list
        ("benchmark.seeds=42,7,13", lambda c: c.benchmark.seeds == [42, 7, 13]),
        ("benchmark.seeds=5", lambda c: c.benchmark.seeds == [5]),
        ("variant_tag=1.5", lambda c: c.variant_tag == "1.5"),  # numeric-looking string stays a string
        ("router.heuristic_threshold=9.5", lambda c: c.router.heuristic_threshold == 9.5),
        ("resume=yes", lambda c: c.resume is True),
        ("models.local=qwen3:0.6b", lambda c: c.models.local == "qwen3:0.6b"),
        ("models.local=qwen3:0.6b,embedded/smollm2-135m",
         lambda c: c.models.locals == ["qwen3:0.6b", "embedded/smollm2-135m"]),
        ("router.params.cascade.threshold=20", lambda c: c.router.params == {"cascade.threshold": 20}),
        ("router.params.heuristic.threshold=9", lambda c: c.strategy_params("cascade")["heuristic.threshold"] == 9
         and c.strategy_params("rules") == {}),
        ("budget.cell_usd=0.5", lambda c: c.budget.cell_usd == 0.5),
        ("models.cloud_fallback=null", lambda c: c.models.cloud_fallback is None),
        ("benchmark.strategies=always-cloud", lambda c: c.strategies == ["always-cloud"]),
    ],
)
def test_arena_set_is_typed_by_the_schema(tmp_path, override, check):
    assert check(load_config(write(tmp_path, MINIMAL), [override]))


BROKEN = [
    # (config text or None for MINIMAL, overrides, expected fragments of the one message)
    ("variant_tag: t\nout_dir: r\nmodels: {cloud: a, local: b}\nbenchmark: {agnts: [aider]}\n", [],
     ["benchmark.agnts", "unknown field", "did you mean 'agents'"]),
    ("variant_tag: t\nout_dir: r\nmodels: {cloud: a, local: b}\nrouter: {strategy: fastest}\n", [],
     ["router.strategy", "'fastest'"]),
    ("variant_tag: t\nout_dir: r\nmodels: {cloud: a, local: b}\nrouter: {port: eighty}\n", [],
     ["router.port", "valid integer"]),
    ("variant_tag: t\nout_dir: r\n", [], ["field 'models'", "required field is missing"]),
    ("variant_tag: t\nmodels: {cloud: a, local: b}\n", [], ["field 'out_dir'", "missing"]),
    ("variant_tag: t\nout_dir: r\nmodels: {cloud: a}\n", [], ["models.local", "missing"]),
    ("variant_tag: t\nout_dir: r\nmodels: {cloud: a, local: b}\nbenchmark: {seeds: []}\n", [],
     ["benchmark.seeds", "must not be empty"]),
    ("variant_tag: t\nout_dir: r\nmodels: {cloud: a, local: b}\nbenchmark: {seeds: [x]}\n", [],
     ["benchmark.seeds", "valid integer"]),
    ("variant_tag: t\nout_dir: r\nmodels: {cloud: a, local: b}\nbenchmark: {task_classes: [puzles]}\n", [],
     ["benchmark.task_classes", "'puzles'"]),
    ("variant_tag: t\nout_dir: r\nmodels: {cloud: a, local: b}\nscoring: {skip: true}\n", [],
     ["scoring.skip", "every cell is scored"]),
    ("variant_tag: 'bad tag!'\nout_dir: r\nmodels: {cloud: a, local: b}\n", [], ["variant_tag", "letters, digits"]),
    ("variant_tag: t\nout_dir: r\nmodels: {cloud: a, local: []}\n", [], ["models.local", "empty"]),
    ("variant_tag: t\nout_dir: r\nmodels: {cloud: a, local: b, local_base_url: 'localhost:11434/v1'}\n", [],
     ["models.local_base_url", "not an http(s) URL", "http://127.0.0.1:11434/v1"]),
    ("variant_tag: t\nout_dir: r\nmodels: {cloud: a, local: b}\nhosts: {workers: {gw0: {local_base_url: 'ftp://h/v1'}}}\n",
     [], ["hosts.workers.gw0.local_base_url", "not an http(s) URL"]),
    ("variant_tag: t\nout_dir: r\nmodels: {cloud: a, local: b}\nbudget: {cell_usd: -1}\n", [],
     ["budget.cell_usd", "greater than 0"]),
    ("variant_tag: t\nout_dir: r\nmodels: {cloud: a, local: b}\nbenchmark: {expect: {null: maybe}}\n", [],
     ["benchmark.expect.null", "'maybe'"]),
    ("variant_tag: t\nout_dir: r\nmodels: {cloud: a, local: b}\nrouter: {local_guards: {wall_timeout: 3}}\n", [],
     ["router.local_guards.wall_timeout", "did you mean 'wall_timeout_s'"]),
    ("variant_tag: t\nout_dir: r\nmodels: {cloud: a, local: b}\nbenchmark:\n  agents: [aider\n", [],
     ["YAML syntax error", "line"]),
    ("- just\n- a list\n", [], ["top level must be a mapping"]),
    ("", [], ["config is empty"]),
    ("variant_tag: t\nout_dir: ${ENV:ARENA_TEST_SURELY_UNSET}\nmodels: {cloud: a, local: b}\n", [],
     ["out_dir", "ARENA_TEST_SURELY_UNSET is not set"]),
    (None, ["benchmark.agentz=aider"], ["--arena-set", "benchmark.agentz", "did you mean 'benchmark.agents'"]),
    (None, ["no-equals-sign"], ["--arena-set", "KEY=VALUE"]),
    (None, ["router.strategy.name=x"], ["--arena-set", "not a section"]),
    (None, ["router.port=abc"], ["router.port", "valid integer"]),
    (None, ["router.params.heuristic.treshold=3"],
     ["router.params", "'heuristic.treshold'", "did you mean 'heuristic.threshold'"]),
    (None, ["router.params.knn.k=0"], ["knn.k"]),
]


@pytest.mark.parametrize(("text", "overrides", "fragments"), BROKEN, ids=[f"broken-{i}" for i in range(len(BROKEN))])
def test_broken_config_gives_one_clear_message(tmp_path, text, overrides, fragments):
    path = write(tmp_path, MINIMAL if text is None else text)
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    message = str(info.value)
    assert "\n" not in message.strip()
    for fragment in fragments:
        assert fragment in message, message
    if text is not None:
        assert str(path) in message


def test_missing_config_file_names_the_path(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_non_utf8_config_is_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"variant_tag: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


@pytest.mark.parametrize(
    ("name", "kind", "model"),
    [("qwen3.6:35b", "ollama", "qwen3.6:35b"), ("ollama/nomic-embed-text", "ollama", "nomic-embed-text"),
     ("embedded/smollm2-135m", "embedded", "smollm2-135m"), ("scripted", "scripted", "scripted"),
     ("gpt-5.5", "openai", "gpt-5.5"), ("claude-sonnet-4-6", "anthropic", "claude-sonnet-4-6"),
     ("openai/local-vllm-model", "openai", "local-vllm-model")],
)
def test_model_names_resolve_to_backends(tmp_path, name, kind, model):
    config = load_config(write(tmp_path, MINIMAL))
    spec = backend_spec(name, config.models, "cloud", concurrency=2)
    assert (spec.kind, spec.model) == (kind, model)
    if kind == "ollama":
        assert spec.base_url == "http://127.0.0.1:11434"  # native API, /v1 stripped


def test_unknown_agent_and_task_id_are_named(tmp_path):
    registry = discover_tasks(ROOT / "tasks")
    config = load_config(write(tmp_path, MINIMAL), ["benchmark.agents=clien"])
    with pytest.raises(ConfigError, match="unknown agent 'clien'; did you mean 'cline'"):
        expand_cells(config, registry, "c.yaml")
    config = load_config(write(tmp_path, MINIMAL),
                         ["benchmark.agents=oracle", "benchmark.task_ids=exercism-python/grepp"])
    with pytest.raises(ConfigError,
                       match="unknown task id 'exercism-python/grepp'; did you mean 'exercism-python/grep'"):
        expand_cells(config, registry, "c.yaml")


def test_the_config_reference_page_is_generated_from_the_model():
    from pytest_arena.docgen.config_reference import reference_markdown
    from pytest_arena.docgen.sections import split_section

    page = ROOT / "docs" / "reference" / "config.md"
    _, current, _ = split_section(page, "config-reference", "python -m pytest_arena schema")
    assert current.strip() == reference_markdown().strip(), "run `python -m pytest_arena schema`"
    assert "`router.local_guards.wall_timeout_s`" in current  # nested fields are listed by dotted path


EMPTY_AXES = [
    ("benchmark: {agents: []}", "benchmark.agents"),
    ("benchmark: {seeds: []}", "benchmark.seeds"),
    ("benchmark: {strategies: []}", "benchmark.strategies"),
    ("benchmark: {task_classes: []}", "benchmark.task_classes"),
    ("benchmark: {task_ids: []}", "benchmark.task_ids"),
    ("models: {cloud: scripted, local: []}", "models.local"),
    ("pricing: {scenarios: []}", "pricing.scenarios"),
]


@pytest.mark.parametrize(("section", "field"), EMPTY_AXES, ids=[f for _, f in EMPTY_AXES])
def test_an_explicitly_empty_axis_is_an_error_not_the_default(tmp_path, section, field):
    text = "variant_tag: t\nout_dir: r\n"
    text += section + "\n" if section.startswith("models") else "models: {cloud: scripted, local: b}\n" + section + "\n"
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert f"field '{field}': must not be empty" in message, message
    assert "Value error" not in message
    if field != "models.local":  # a required field has no default to fall back on
        assert "leave the field out" in message, message


def test_an_empty_axis_from_arena_set_is_an_error_too(tmp_path):
    with pytest.raises(ConfigError, match=r"field 'benchmark\.strategies': must not be empty"):
        load_config(write(tmp_path, MINIMAL), ["benchmark.strategies="])


def test_an_omitted_axis_still_means_the_default(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    assert config.benchmark.agents == ["aider", "opencode", "cline"] and config.benchmark.seeds == [42]
    assert config.benchmark.task_classes == ["puzzles", "refactors"] and config.benchmark.task_ids is None
    assert config.strategies == [config.router.strategy]
    assert config.benchmark.strategies is None and load_config(
        write(tmp_path, MINIMAL + "benchmark: {strategies: null}\n")).strategies == [config.router.strategy]


UNPRICED = """\
variant_tag: t
out_dir: results/t
models: {cloud: gpt-9-unlisted, local: embedded/smollm2-135m}
"""


@pytest.mark.parametrize("cap", ["budget.cell_usd=0.5", "budget.session_usd=2"])
def test_a_budget_cap_on_an_unpriced_cloud_model_is_refused_at_session_start(tmp_path, cap):
    from pytest_arena.sweep.session import ArenaSession

    path = write(tmp_path, UNPRICED)
    with pytest.raises(ConfigError) as info:
        ArenaSession.load(path, [cap], "main", tmp_path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for fragment in (f"field '{cap.split('=')[0]}'", "'gpt-9-unlisted'", "pricing.json", "could never trip",
                     "add 'gpt-9-unlisted' to the table", "pricing.table"):
        assert fragment in message, message


def test_an_unreadable_pricing_table_is_named_not_a_traceback(tmp_path):
    from pytest_arena.sweep.session import ArenaSession

    with pytest.raises(ConfigError, match=r"field 'pricing.table': cannot read the pricing table .*nope\.json"):
        ArenaSession.load(write(tmp_path, UNPRICED), ["pricing.table=nope.json"], "main", tmp_path)


def test_the_refusal_is_one_usage_error_line_and_no_cap_means_a_loud_summary_warning(pytester):
    from .arena_project import make_task

    make_task(pytester.path)
    config = (UNPRICED + "benchmark: {task_classes: [puzzles], agents: [oracle]}\n"
              "analysis: {resamples: 200, charts: false}\n")
    pytester.makefile(".yaml", arena=config)
    refused = pytester.runpytest("--arena-config", "arena.yaml", "--arena-set", "budget.cell_usd=0.5")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["ERROR: *arena.yaml: field 'budget.cell_usd': the cloud model 'gpt-9-unlisted'*"])
    assert "Traceback" not in refused.stderr.str() + refused.stdout.str()

    ran = pytester.runpytest("--arena-config", "arena.yaml")
    ran.assert_outcomes(passed=1)
    ran.stdout.fnmatch_lines(["*pytest-arena summary*", "WARNING: the cloud model 'gpt-9-unlisted' (models.cloud) "
                              "has no price in *: its calls are recorded at $0*"])
    assert "gpt-9-unlisted" in (pytester.path / "results/t/summary.md").read_text()


SWEEP_CONFIG = MINIMAL + "benchmark:\n  strategies: {strategies}\n"


def test_a_strategy_sweep_expands_to_one_operating_point_per_value(tmp_path):
    config = load_config(write(tmp_path, SWEEP_CONFIG.replace(
        "{strategies}", "[always-cloud, always-local, {cascade: {threshold: [5, 10, 15, 20, 25]}}]")))
    labels = [p.label for p in config.strategy_points()]
    assert labels == ["always-cloud", "always-local"] + [f"cascade@threshold={t}" for t in (5, 10, 15, 20, 25)]
    assert config.strategies == ["always-cloud", "always-local", "cascade"]
    point = config.strategy_points()[4]
    assert config.strategy_params("cascade", dict(point.params))["cascade.threshold"] == 15
    assert point.keyword == "cascade-threshold-15"


def test_several_swept_params_give_every_combination_and_dotted_names_reach_other_groups(tmp_path):
    config = load_config(write(tmp_path, SWEEP_CONFIG.replace(
        "{strategies}", "[{cascade: {threshold: [5, 10], heuristic.threshold: [8, 12.5]}}]")))
    assert [p.label for p in config.strategy_points()] == [
        "cascade@threshold=5,heuristic.threshold=8", "cascade@threshold=5,heuristic.threshold=12.5",
        "cascade@threshold=10,heuristic.threshold=8", "cascade@threshold=10,heuristic.threshold=12.5"]


def test_unparametrised_strategies_keep_their_cell_keys(tmp_path):
    config = load_config(write(tmp_path, MINIMAL + "benchmark: {agents: [aider], task_ids: [exercism-python/grep], "
                               "task_classes: [puzzles], strategies: [cascade, {heuristic: {}}]}\n"))
    cells = expand_cells(config, discover_tasks(ROOT / "tasks"), "c")
    assert [c.key for c in cells] == ["exercism-python/grep|aider|cascade|embedded/smollm2-135m|scripted|42",
                                      "exercism-python/grep|aider|heuristic|embedded/smollm2-135m|scripted|42"]
    assert [c.param_id for c in cells] == ["aider-cascade-s42", "aider-heuristic-s42"]


@pytest.mark.parametrize(("strategies", "message"), [
    ("[cascad]", "entry 1: unknown strategy 'cascad'; did you mean 'cascade'?"),
    ("[{cascade: {treshold: [5]}}]", "entry 1 (cascade): unknown parameter 'treshold'; did you mean 'threshold'?"),
    ("[{cascade: {threshold: [true]}}]", "strategy param 'cascade.threshold' must be a number, got True"),
    ("[{cascade: {knn.k: [3]}}]", "'knn.k' does not apply to strategy 'cascade'"),
    ("[{rules: {token_limit: [-5]}}]", "'rules.token_limit' must be >= 0, got -5"),
    ("[{cascade: {threshold: [5, 5.0]}}]", "lists a value twice"),
    ("[{cascade: {threshold: []}}]", "lists no values"),
    ("[{always-local: {x: [1]}}]", "always-local has no parameters to sweep"),
    ("[{cascade: {threshold: [5]}, heuristic: {}}]", "a sweep entry names one strategy"),
    ("[{heuristic: {agent_markers: [[a]]}}]", "cannot be swept"),
])
def test_a_bad_sweep_is_one_line_naming_file_and_field(tmp_path, strategies, message):
    path = write(tmp_path, SWEEP_CONFIG.replace("{strategies}", strategies))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"{path}: invalid config: field 'benchmark.strategies': ")
    assert message in text, text


def test_a_sweep_can_be_set_from_the_command_line(tmp_path):
    config = load_config(write(tmp_path, MINIMAL),
                         ["benchmark.strategies=[always-local, {cascade: {threshold: [5, 10]}}]"])
    assert [p.label for p in config.strategy_points()] == ["always-local", "cascade@threshold=5",
                                                           "cascade@threshold=10"]
