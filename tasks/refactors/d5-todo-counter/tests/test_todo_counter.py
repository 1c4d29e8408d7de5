import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent / "solution.py"

EXPECTED_FOR_WORKSPACE_TREE = (
    ".: TODO=2 FIXME=1 XXX=1\n"
    "app: TODO=2 FIXME=2 XXX=1\n"
    "app-legacy: TODO=0 FIXME=2 XXX=0\n"
    "app/api: TODO=2 FIXME=0 XXX=1\n"
    "tests: TODO=1 FIXME=0 XXX=0\n"
    "total: TODO=7 FIXME=5 XXX=3\n"
)


def run_in(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT)], cwd=folder, capture_output=True,
                          text=True, timeout=30)


def write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def test_workspace_tree_exact_output():
    result = run_in(Path(__file__).parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED_FOR_WORKSPACE_TREE


def test_empty_tree_prints_only_the_total(tmp_path):
    (tmp_path / "tree").mkdir()
    result = run_in(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "total: TODO=0 FIXME=0 XXX=0\n"


def test_several_markers_per_line_and_word_boundaries(tmp_path):
    write(tmp_path / "tree/a.py", b"x = 1  # TODO FIXME XXX TODO\nMYTODO = TODO1 = todo = 0\n")
    write(tmp_path / "tree/b/c/d.py", b"# TODO.FIXME-XXX\n")
    write(tmp_path / "tree/b/notes.txt", b"TODO FIXME XXX\n")
    result = run_in(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        ".: TODO=2 FIXME=1 XXX=1\n"
        "b/c: TODO=1 FIXME=1 XXX=1\n"
        "total: TODO=3 FIXME=2 XXX=2\n"
    )


def test_bytes_that_are_not_utf8_do_not_stop_the_count(tmp_path):
    write(tmp_path / "tree/pkg/latin1.py", b"# caf\xe9 TODO: fix the encoding\n")
    result = run_in(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "pkg: TODO=1 FIXME=0 XXX=0\ntotal: TODO=1 FIXME=0 XXX=0\n"


def test_missing_tree_is_an_error(tmp_path):
    result = run_in(tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "tree" in result.stderr
