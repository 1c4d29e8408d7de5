"""What each adapter hands its agent: command line, environment and config files, checked
without running the agent (the install root holds a stub binary)."""
from __future__ import annotations

import json
import os
import pwd
import re
import sys
import tomllib
from pathlib import Path

import pytest

from pytest_arena.agents.installers import InstalledAgent, Invocation
from pytest_arena.agents.registry import get_agent
from pytest_arena.errors import AgentNotInstalled
from pytest_arena.router.contracts import RunEndpoints

from .conftest import REAL_AGENTS, REFERENCE_FILE, fake_install, make_context

RUN_ID = "c0ffee123456"
PORT = 45678
ENDPOINTS = RunEndpoints(
    openai_base=f"http://127.0.0.1:{PORT}/run/{RUN_ID}/v1",
    anthropic_base=f"http://127.0.0.1:{PORT}/run/{RUN_ID}",
    ollama_base=f"http://127.0.0.1:{PORT}/run/{RUN_ID}",
    model="arena-model",
    api_key="sk-arena-run-token-for-c0ffee",
)
URL = re.compile(r"https?://[^\s\"']+")
REAL_HOME = pwd.getpwuid(os.getuid()).pw_dir


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(params=REAL_AGENTS)
def prepared(request, tmp_path, task):
    agent = request.param
    install_root = fake_install(tmp_path / "agents", agent)
    ctx = make_context(tmp_path, task, endpoints=ENDPOINTS, install_root=install_root, seed=31)
    before = files_under(tmp_path)
    steps = get_agent(agent).prepare(ctx)
    written = files_under(tmp_path) - before
    return agent, ctx, steps, written


def config_text(ctx, written: set[str], tmp_path: Path) -> str:
    return "\n".join((tmp_path / rel).read_text() for rel in sorted(written))


def test_the_agent_runs_from_its_own_install_with_the_prompt_unchanged(prepared):
    agent, ctx, steps, _ = prepared
    argv = steps[-1].argv
    assert argv[0] == str(get_agent(agent).binary(ctx.install_root))
    assert argv[0].startswith(str(ctx.install_root / agent))
    # The task's prompt is one argument, verbatim; nothing else instructs the agent.
    assert argv.count(ctx.prompt) == 1
    assert not [a for a in argv if a != ctx.prompt and len(a.split()) > 3]


def test_home_and_config_dirs_are_inside_the_cell(prepared, tmp_path):
    agent, ctx, steps, written = prepared
    cell = tmp_path / "cell"
    for step in steps:
        env = step.env
        assert env["HOME"] == str(ctx.home) and ctx.home.is_relative_to(cell)
        for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME",
                    "CODEX_HOME", "CLAUDE_CONFIG_DIR"):
            if key in env:
                assert Path(env[key]).is_relative_to(ctx.home), key
        for key, value in env.items():
            if key != "PATH":
                assert not value.startswith(REAL_HOME + "/") and value != REAL_HOME, (key, value)
    # Config the adapter wrote lives in the cell's home or log dir, never in the workspace.
    for rel in written:
        assert (tmp_path / rel).is_relative_to(ctx.home) or (tmp_path / rel).is_relative_to(ctx.log_dir), rel
    assert files_under(ctx.workspace) == {"README.md"}


def test_every_url_is_the_run_scoped_router_url(prepared, tmp_path):
    agent, ctx, steps, written = prepared
    text = "\n".join(
        [" ".join(step.argv) for step in steps]
        + [v for step in steps for v in step.env.values()]
        + [config_text(ctx, written, tmp_path)]
    )
    urls = set(URL.findall(text)) - {"https://opencode.ai/config.json"}  # opencode's schema id
    assert urls, "the agent is not pointed at the router"
    for url in urls:
        assert url.startswith(f"http://127.0.0.1:{PORT}/run/{RUN_ID}"), url
    assert "8787" not in text


def test_the_agent_presents_its_runs_token_and_no_other_key(prepared, tmp_path):
    """The router refuses calls without the run's token; a shared constant would let any agent
    spend through any run."""
    agent, ctx, steps, written = prepared
    text = "\n".join([" ".join(step.argv) for step in steps]
                     + [f"{k}={v}" for step in steps for k, v in step.env.items()]
                     + [config_text(ctx, written, tmp_path)])
    assert ENDPOINTS.api_key in text
    assert "sk-arena-router" not in text  # the old shared key
    keys = {v for step in steps for k, v in step.env.items() if "KEY" in k or "TOKEN" in k}
    assert keys <= {ENDPOINTS.api_key}, keys


def test_not_installed_is_one_clear_error_with_the_install_command(tmp_path, task):
    for agent in REAL_AGENTS:
        adapter = get_agent(agent)
        empty_root = tmp_path / "empty"
        assert adapter.version(empty_root) is None
        ctx = make_context(tmp_path, task, endpoints=ENDPOINTS, install_root=empty_root)
        with pytest.raises(AgentNotInstalled) as info:
            adapter.run(ctx)
        message = str(info.value)
        assert f"python -m pytest_arena setup --agents {agent} --root {empty_root}" in message


def test_version_comes_from_the_marker_and_needs_the_binary(tmp_path):
    for agent in REAL_AGENTS:
        adapter = get_agent(agent)
        assert isinstance(adapter, InstalledAgent)
        root = fake_install(tmp_path / "agents", agent)
        assert adapter.version(root) == adapter.pinned.version
        adapter.binary(root).unlink()
        assert adapter.version(root) is None


def test_install_command_names_the_default_root_implicitly(monkeypatch, tmp_path):
    monkeypatch.setenv("ARENA_AGENTS_DIR", str(tmp_path))
    assert get_agent("codex").install_command(tmp_path) == "python -m pytest_arena setup --agents codex"


# ---------------------------------------------------------------------------- per agent
def step_of(agent, tmp_path, task, seed=31):
    install_root = fake_install(tmp_path / "agents", agent)
    ctx = make_context(tmp_path, task, endpoints=ENDPOINTS, install_root=install_root, seed=seed)
    return ctx, get_agent(agent).prepare(ctx)


def test_aider_gets_the_measured_flags_and_the_reference_files(tmp_path, task):
    ctx, steps = step_of("aider", tmp_path, task)
    argv = steps[-1].argv
    for flag in ("--yes-always", "--no-git", "--no-check-update", "--no-show-model-warnings",
                 "--analytics-disable", "--no-pretty", "--no-auto-commits"):
        assert flag in argv
    assert argv[argv.index("--model") + 1] == "openai/arena-model"
    assert argv[argv.index("--openai-api-base") + 1] == ENDPOINTS.openai_base
    assert argv[argv.index("--openai-api-key") + 1] == ENDPOINTS.api_key  # sent as Authorization: Bearer
    assert argv[argv.index("--message") + 1] == ctx.prompt
    assert argv[-1] == REFERENCE_FILE  # the files it must edit follow the message
    settings = Path(argv[argv.index("--model-settings-file") + 1]).read_text()
    assert "seed: 31" in settings and "openai/arena-model" in settings
    for flag in ("--chat-history-file", "--llm-history-file", "--input-history-file"):
        assert not Path(argv[argv.index(flag) + 1]).is_relative_to(ctx.workspace)


def test_mini_loads_its_default_config_first_and_writes_the_trajectory_to_the_logs(tmp_path, task):
    ctx, steps = step_of("mini-swe-agent", tmp_path, task)
    argv, env = steps[-1].argv, steps[-1].env
    configs = [argv[i + 1] for i, a in enumerate(argv) if a == "-c"]
    assert configs[0] == "mini.yaml"
    assert f"model.model_kwargs.api_base={ENDPOINTS.openai_base}" in configs
    assert f"model.model_kwargs.api_key={ENDPOINTS.api_key}" in configs
    assert "model.model_kwargs.seed=31" in configs
    assert f"environment.cwd={ctx.workspace}" in configs
    assert {"--yolo", "--exit-immediately"} <= set(argv)
    assert argv[argv.index("-t") + 1] == ctx.prompt
    assert argv[argv.index("-o") + 1] == str(ctx.log_dir / "traj.json")
    assert env["MSWEA_COST_TRACKING"] == "ignore_errors" and env["MSWEA_CONFIGURED"] == "true"


def test_cline_authenticates_into_a_data_dir_in_the_cell_then_runs_there(tmp_path, task):
    ctx, steps = step_of("cline", tmp_path, task)
    auth, run = steps
    assert auth.argv[1] == "auth"
    assert auth.argv[auth.argv.index("-b") + 1] == ENDPOINTS.openai_base
    assert auth.argv[auth.argv.index("-k") + 1] == ENDPOINTS.api_key
    data_dirs = {s.argv[s.argv.index("--data-dir") + 1] for s in steps}
    assert len(data_dirs) == 1 and Path(data_dirs.pop()).is_relative_to(ctx.home)
    assert run.argv[run.argv.index("-P") + 1] == "openai-compatible"
    assert run.argv[run.argv.index("-c") + 1] == str(ctx.workspace)
    assert "--json" in run.argv and run.argv[-1] == ctx.prompt
    assert auth.timeout_s is not None and run.timeout_s is None


def test_opencode_config_travels_in_the_environment(tmp_path, task):
    ctx, steps = step_of("opencode", tmp_path, task)
    argv, env = steps[-1].argv, steps[-1].env
    config = json.loads(env["OPENCODE_CONFIG_CONTENT"])
    provider_id, model = argv[argv.index("-m") + 1].split("/", 1)
    provider = config["provider"][provider_id]
    assert provider["options"]["baseURL"] == ENDPOINTS.openai_base
    assert provider["options"]["apiKey"] == ENDPOINTS.api_key
    assert provider["models"][model]["options"]["seed"] == 31
    assert model == "arena-model" and config["autoupdate"] is False
    assert env["OPENCODE_DISABLE_MODELS_FETCH"] == "1" and env["OPENCODE_DISABLE_AUTOUPDATE"] == "1"
    assert {"--auto", "--format"} <= set(argv) and argv[argv.index("--format") + 1] == "json"


def test_claude_code_talks_anthropic_to_the_router_with_its_config_in_the_cell(tmp_path, task):
    ctx, steps = step_of("claude-code", tmp_path, task)
    argv, env = steps[-1].argv, steps[-1].env
    assert env["ANTHROPIC_BASE_URL"] == ENDPOINTS.anthropic_base
    assert env["ANTHROPIC_API_KEY"] == ENDPOINTS.api_key  # claude-code sends it as x-api-key
    assert env["IS_SANDBOX"] == "1" and env["DISABLE_AUTOUPDATER"] == "1"
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert argv[argv.index("-p") + 1] == ctx.prompt
    assert argv[argv.index("--model") + 1] == "arena-model"
    assert "--dangerously-skip-permissions" in argv and argv[argv.index("--output-format") + 1] == "json"


def test_codex_gets_a_responses_provider_in_its_own_codex_home(tmp_path, task):
    ctx, steps = step_of("codex", tmp_path, task)
    argv, env = steps[-1].argv, steps[-1].env
    codex_home = Path(env["CODEX_HOME"])
    config = tomllib.loads((codex_home / "config.toml").read_text())
    provider = config["model_providers"][config["model_provider"]]
    assert provider["base_url"] == ENDPOINTS.openai_base
    assert provider["wire_api"] == "responses"
    assert env[provider["env_key"]] == ENDPOINTS.api_key
    assert config["model"] == "arena-model"
    assert argv[1] == "exec" and {"--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox"} <= set(argv)
    assert argv[-1] == ctx.prompt


# ---------------------------------------------------------------------------- the shared run loop
class ScriptAgent(InstalledAgent):
    """Runs small Python scripts as its steps, to exercise InstalledAgent.run."""

    name = "script-agent"
    pinned = None  # type: ignore[assignment]

    def __init__(self, scripts: list[str], report=None):
        self.scripts, self.report = scripts, report

    def version(self, install_root):
        return "1"

    def prepare(self, ctx):
        from pytest_arena.agents.process import base_env

        return [Invocation(f"step{i}", [sys.executable, "-c", code], base_env(ctx.home))
                for i, code in enumerate(self.scripts)]

    def read_report(self, ctx, proc):
        return self.report(proc)


def test_a_failed_setup_step_ends_the_cell_as_a_crash_named_after_the_step(tmp_path, task):
    ctx = make_context(tmp_path, task, endpoints=ENDPOINTS, install_root=tmp_path)
    agent = ScriptAgent(["import sys; sys.exit('auth: bad base url')", "open('ran', 'w')"])
    result = agent.run(ctx)
    assert result.failure == "agent_crash"
    assert result.reason == "step0: exit 1: auth: bad base url"
    assert not (ctx.workspace / "ran").exists()


def test_an_unreadable_report_is_kept_as_a_note_not_a_failure(tmp_path, task):
    ctx = make_context(tmp_path, task, endpoints=ENDPOINTS, install_root=tmp_path)
    agent = ScriptAgent(["print('{not json')"], report=lambda proc: json.loads(proc.tail("stdout")))
    result = agent.run(ctx)
    assert (result.failure, result.exit_code, result.reported) == (None, 0, None)
    assert result.extra["report_error"].startswith("JSONDecodeError")
