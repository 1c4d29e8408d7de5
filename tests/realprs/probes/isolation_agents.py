"""Probe agents for tests/realprs/test_isolation.py. This file is data: the test writes it as the
``conftest.py`` of its pytester project; no module of the test process imports it.

- ``probe-objects`` searches its workspace's repository for the instance's reference fix, as an
  adversary would: every object (``git cat-file --batch-all-objects``), unreachable ones (``git
  fsck --unreachable``), and a walk of ``.git/objects`` decompressing each loose object. Then, as
  a control, it writes the reference into that repository itself and searches again (the search
  must find it then). It changes no file of the workspace.
- ``probe-hostile`` writes the reference fix (as ``oracle`` does) and leaves in its workspace what
  made the old prediction diff fail or read elsewhere: a ``git init`` folder without a commit, a
  nested repository with one, a ``.git`` file pointing at the prepared repository, a
  ``.gitattributes`` with an unknown encoding and ``-diff``, a ``.gitmodules`` that is not git
  config, a symlink named ``.gitmodules``, a ``.GIT`` folder.

Each writes what it did or found to ``probe.json`` in its log folder.
"""
import json
import os
import subprocess
import time
import zlib

from pytest_arena.agents.base import AgentAdapter, AgentResult
from pytest_arena.agents.registry import register_agent


def _git(cwd, *args, input=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_AUTHOR_NAME="p", GIT_AUTHOR_EMAIL="p@x",
               GIT_COMMITTER_NAME="p", GIT_COMMITTER_EMAIL="p@x")
    return subprocess.run(["git", *args], cwd=cwd, env=env, input=input, capture_output=True)


class _Probe(AgentAdapter):
    uses_llm = False

    def version(self, install_root):
        return "probe-1"

    def install_command(self, install_root):
        return "(probe agent)"


def search(workspace, reference, fix_lines):
    """Where the reference (file contents, their blob ids, lines only the fix has) is in the
    workspace's repository."""
    listing = _git(workspace, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)").stdout.split()
    oids = [oid.decode() for oid in listing]
    contents = _git(workspace, "cat-file", "--batch", input=b"".join(o + b"\n" for o in listing)).stdout
    blob_ids = {rel: _git(workspace, "hash-object", "--stdin", input=content).stdout.decode().strip()
                for rel, content in reference.items()}
    unreachable = _git(workspace, "fsck", "--unreachable", "--no-reflogs", "--no-progress").stdout.decode().split("\n")
    loose_hits, object_files = [], 0
    for folder, _, names in os.walk(os.path.join(workspace, ".git", "objects")):
        for name in names:
            object_files += 1
            if len(os.path.basename(folder)) == 2 and len(name) in (38, 62):
                data = zlib.decompress(open(os.path.join(folder, name), "rb").read())
                if any(c in data for c in reference.values()) or any(line in data for line in fix_lines):
                    loose_hits.append(os.path.basename(folder) + name)
    return {"objects": len(oids), "object_files": object_files,
            "reference_blobs": sorted(rel for rel, oid in blob_ids.items() if oid in oids),
            "reference_contents": sorted(rel for rel, c in reference.items() if c in contents),
            "fix_lines": sorted(line.decode() for line in fix_lines if line in contents),
            "unreachable": [line for line in unreachable if line], "loose_hits": loose_hits}


class ObjectsProbe(_Probe):
    name = "probe-objects"

    def run(self, ctx):
        start = time.monotonic()
        reference = ctx.task.files("reference")
        base = b"\n".join(ctx.task.files("workspace").values())
        fix_lines = [line[1:].strip().encode() for line in ctx.task.instance.patch.splitlines()
                     if line.startswith("+") and not line.startswith("+++") and len(line[1:].strip()) > 10]
        fix_lines = [line for line in fix_lines if line not in base]
        found = {"fix_lines_known": len(fix_lines), "search": search(str(ctx.workspace), reference, fix_lines)}
        for content in reference.values():  # the control: planted by the probe itself, it must be found
            _git(ctx.workspace, "hash-object", "-w", "--stdin", input=content)
        found["control"] = search(str(ctx.workspace), reference, fix_lines)
        (ctx.log_dir / "probe.json").write_text(json.dumps(found))
        return AgentResult(exit_code=0, duration_s=time.monotonic() - start)


class HostileProbe(_Probe):
    name = "probe-hostile"

    def run(self, ctx):
        start = time.monotonic()
        ws = ctx.workspace
        for rel, content in ctx.task.files("reference").items():
            (ws / rel).parent.mkdir(parents=True, exist_ok=True)
            (ws / rel).write_bytes(content)
        (ws / "empty_repo").mkdir()
        _git(ws / "empty_repo", "init", "-q")
        (ws / "empty_repo" / "notes.txt").write_text("a git init without a commit\n")
        (ws / "nested").mkdir()
        (ws / "nested" / "mod.py").write_text("NESTED = 1\n")
        _git(ws / "nested", "init", "-q")
        _git(ws / "nested", "add", "-A")
        _git(ws / "nested", "commit", "-q", "-m", "nested")
        (ws / "elsewhere").mkdir()
        (ws / "elsewhere" / ".git").write_text(f"gitdir: {ctx.task.root / 'repo' / '.git'}\n")
        (ws / "elsewhere" / "note.py").write_text("ELSEWHERE = 1\n")
        (ws / ".gitattributes").write_text("* working-tree-encoding=NO-SUCH-ENCODING\n*.py -diff\n")
        (ws / ".gitmodules").write_text('[submodule "x"\n\tthis is not git config\n')
        (ws / "deep").mkdir()
        os.symlink("../.gitattributes", ws / "deep" / ".gitmodules")
        (ws / "shout" / ".GIT").mkdir(parents=True)
        (ws / "shout" / ".GIT" / "HEAD").write_text("ref: refs/heads/main\n")
        (ctx.log_dir / "probe.json").write_text(json.dumps({"done": True}))
        return AgentResult(exit_code=0, duration_s=time.monotonic() - start)


register_agent("probe-objects", ObjectsProbe)
register_agent("probe-hostile", HostileProbe)
