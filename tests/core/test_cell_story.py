"""A cell folder tells the cell's whole story: row.json, patch.diff, calls.jsonl, transcript.jsonl,
test_output.txt next to the workspace, logs/ and junit.xml; and a pass after the agent's time limit
says so. Real pytest runs (pytester) through the real router and its scripted backend."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_arena.cell.story import FileState, snapshot, workspace_diff
from pytest_arena.router.transcript import read_transcript

from .arena_project import TEST_AGENTS_CONFTEST, make_config, make_task

STORY_AGENTS = '''
import json
import urllib.request


class Writer(_Builtin):
    """An LLM agent in a few lines: OpenAI chat with a write_file tool through the run's router
    URL, writing what the model asks until it answers in text. It puts its own run token into
    its first message (the transcript must not keep it) and leaves the token in its log folder
    for the test."""
    name = "writer"
    uses_llm = True

    def run(self, ctx):
        token = ctx.endpoints.api_key
        (ctx.log_dir / "token.txt").write_text(token)
        tools = [{"type": "function", "function": {"name": "write_file", "description": "write a file",
                  "parameters": {"type": "object", "required": ["path", "content"],
                                 "properties": {"path": {"type": "string"}, "content": {"type": "string"}}}}}]
        messages = [{"role": "user", "content": f"{ctx.prompt} (my key is {token})"}]
        for _ in range(8):
            request = urllib.request.Request(
                ctx.endpoints.openai_base + "/chat/completions", method="POST",
                data=json.dumps({"model": ctx.endpoints.model, "messages": messages, "tools": tools}).encode(),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=30) as answer:
                message = json.loads(answer.read())["choices"][0]["message"]
            messages.append(message)
            if not message.get("tool_calls"):
                break
            for call in message["tool_calls"]:
                args = json.loads(call["function"]["arguments"])
                Path(args["path"]).write_text(args["content"])
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": "written"})
        return AgentResult(exit_code=0, duration_s=0.0)


class Overtime(_Builtin):
    """Writes the reference, then keeps working until its time limit kills it."""
    name = "overtime"

    def run(self, ctx):
        for rel, content in ctx.task.files("reference").items():
            (ctx.workspace / rel).write_bytes(content)
        result = run_process(["sleep", "60"], cwd=ctx.workspace, env=base_env(ctx.home),
                             timeout_s=ctx.timeout_s, log_dir=ctx.log_dir, sandbox=ctx.sandbox)
        assert result.timed_out
        return AgentResult(exit_code=None, duration_s=result.duration_s, failure="timeout",
                           reason=f"killed after {ctx.timeout_s:g} s")


for cls in (Writer, Overtime):
    register_agent(cls.name, cls)
'''

OUT = "results/demo"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    make_task(pytester.path)
    pytester.makeconftest(TEST_AGENTS_CONFTEST + STORY_AGENTS)
    return pytester


def raw_rows(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / OUT / "raw.jsonl").read_text().splitlines() if line.strip()]


def ledger_lines(root: Path, run_id: str) -> list[str]:
    lines = []
    for path in sorted((root / OUT / "ledger").glob("ledger.*.jsonl")):
        lines += [line for line in path.read_text().splitlines() if json.loads(line)["run_id"] == run_id]
    return lines


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_oracle_and_scripted_cells_tell_their_whole_story(project, workers):
    make_config(project.path, agents=("oracle", "writer"), strategies=("always-cloud",))
    result = project.runpytest_subprocess("--arena-config", "arena.yaml", "-v", *workers)
    result.assert_outcomes(passed=2)
    rows = {row["route"]: row for row in raw_rows(project.path)}
    for agent, row in rows.items():
        folder = project.path / OUT / row["output_ref"]
        assert json.loads((folder / "row.json").read_text()) == row, agent  # the final row, artifacts included
        patch = (folder / "patch.diff").read_text()
        assert "--- a/adder.py\n+++ b/adder.py\n" in patch and "+    return a + b\n" in patch, agent
        assert "-    raise NotImplementedError\n" in patch
        assert "test_adder.py" not in patch  # the visible tests were not touched
        output = (folder / "test_output.txt").read_text()
        assert output.startswith("acceptance run: pass, 3/3 tests passed") and "passed" in output.split("----")[-1]
        calls = (folder / "calls.jsonl").read_text().splitlines()
        assert calls == ledger_lines(project.path, row["run_id"]), agent
        assert (folder / "junit.xml").is_file() and (folder / "logs").is_dir() and (folder / "workspace").is_dir()

    assert rows["oracle"]["routing"]["total_calls"] == 0 and not (project.path / OUT / rows["oracle"]["output_ref"]
                                                                  / "transcript.jsonl").exists()
    writer = project.path / OUT / rows["writer"]["output_ref"]
    token = (writer / "logs" / "token.txt").read_text()
    raw = (writer / "transcript.jsonl").read_text()
    assert token not in raw and "***" in raw
    records = read_transcript(writer / "transcript.jsonl")
    assert [r["seq"] for r in records] == [json.loads(line)["seq"]
                                           for line in (writer / "calls.jsonl").read_text().splitlines()]
    assert len(records) == rows["writer"]["routing"]["total_calls"] >= 2
    first, last = records[0], records[-1]
    assert {r["side"] for r in records} == {"cloud"} and {r["backend"] for r in records} == {"scripted"}
    assert first["purpose"] == "agent" and first["status"] == "ok" and first["reason"]
    assert first["request"]["messages"][0]["content"].startswith("Implement adder.py")
    assert first["request"]["tools"][0]["name"] == "write_file"
    assert first["response"]["tool_calls"][0]["name"] == "write_file" and first["finish_reason"] == "tool_calls"
    assert "return a + b" in first["response"]["tool_calls"][0]["arguments"]
    assert last["response"]["text"] and not last["response"]["tool_calls"]


def test_a_folder_over_the_cap_keeps_its_row_json_on_the_host(project, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(project.path / "state"))
    make_config(project.path, agents=("oracle",), extra="hosts: {artifacts_cap_mb: 0}\n")
    project.runpytest("--arena-config", "arena.yaml").assert_outcomes(passed=1)
    (row,) = raw_rows(project.path)
    folder = Path(row["artifacts"]["path"])
    assert row["artifacts"]["stored"] == "host" and folder.is_relative_to(project.path / "state")
    assert json.loads((folder / "row.json").read_text()) == row
    assert (folder / "patch.diff").read_text() and (folder / "test_output.txt").is_file()


@pytest.mark.parametrize("mode", ["meta", "off"])
def test_transcript_switch_keeps_facts_without_bodies_or_nothing(project, mode):
    make_config(project.path, agents=("writer",), strategies=("always-cloud",))
    result = project.runpytest("--arena-config", "arena.yaml", "--arena-set", f"router.transcript={mode}")
    result.assert_outcomes(passed=1)
    (row,) = raw_rows(project.path)
    path = project.path / OUT / row["output_ref"] / "transcript.jsonl"
    if mode == "off":
        assert not path.exists()
        return
    records = read_transcript(path)
    assert len(records) == row["routing"]["total_calls"]
    assert all("request" not in r and "response" not in r for r in records)
    assert records[0]["side"] == "cloud" and records[0]["finish_reason"] == "tool_calls"
    assert "Implement adder.py" not in path.read_text()


def test_a_pass_after_the_agents_time_limit_is_a_pass_that_says_so(project):
    make_config(project.path, agents=("overtime",), timeout_s=1)
    result = project.runpytest("--arena-config", "arena.yaml", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*adder?overtime-s42? PASS*", "*1 pass after the agent's time limit*"])
    (row,) = raw_rows(project.path)
    assert row["outcome"] == "pass" and row["agent_timed_out"] is True
    summary = (project.path / OUT / "summary.md").read_text()
    assert "1 pass after the agent's time limit" in summary


def test_a_killed_agent_whose_files_fail_is_a_timeout_not_flagged_as_a_pass(project, monkeypatch):
    monkeypatch.setenv("SLEEPER_SECONDS", "30")
    make_config(project.path, agents=("sleeper", "oracle"), timeout_s=1)
    result = project.runpytest("--arena-config", "arena.yaml")
    assert "after the agent's time limit" not in result.stdout.str()
    by_agent = {row["route"]: row for row in raw_rows(project.path)}
    assert (by_agent["sleeper"]["outcome"], by_agent["sleeper"]["agent_timed_out"]) == ("timeout", True)
    assert (by_agent["oracle"]["outcome"], by_agent["oracle"]["agent_timed_out"]) == ("pass", False)


# ----------------------------------------------------------------------------- patch.diff itself
def test_diff_names_binary_files_shows_deletions_and_mode_changes_in_path_order(tmp_path):
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "z.py").write_text("old\n")
    (root / "pkg" / "gone.txt").write_text("bye\n")
    (root / "run.sh").write_text("echo hi\n")
    (root / "blob.bin").write_bytes(b"\0\1")
    before = snapshot(root)
    (root / "z.py").write_text("new")  # no trailing newline
    (root / "pkg" / "gone.txt").unlink()
    (root / "run.sh").chmod(0o755)
    (root / "blob.bin").write_bytes(b"\0\2")
    (root / "a_new.py").write_text("x = 1\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "z.cpython-311.pyc").write_bytes(b"\0")
    diff = workspace_diff(before, snapshot(root))
    headers = [line for line in diff.splitlines() if line.startswith("diff --git")]
    assert headers == [f"diff --git a/{p} b/{p}" for p in ("a_new.py", "blob.bin", "pkg/gone.txt", "run.sh", "z.py")]
    assert "new file mode 100644\n--- /dev/null\n+++ b/a_new.py\n@@ -0,0 +1 @@\n+x = 1\n" in diff
    assert "Binary files a/blob.bin and b/blob.bin differ\n" in diff
    assert "deleted file mode 100644\n--- a/pkg/gone.txt\n+++ /dev/null\n" in diff and "-bye\n" in diff
    assert "old mode 100644\nnew mode 100755\n" in diff
    assert "-old\n+new\n\\ No newline at end of file\n" in diff
    assert workspace_diff(before, snapshot(root)) == diff  # deterministic
    assert workspace_diff(before, before) == ""


def test_diff_of_an_unreadable_file_names_it_instead_of_failing(tmp_path):
    before = {"secret.txt": FileState(0o100644, b"a\n")}
    after = {"secret.txt": FileState(0o100644, None)}
    assert "Binary files a/secret.txt and b/secret.txt differ" in workspace_diff(before, after)
