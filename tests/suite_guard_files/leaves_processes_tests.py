# Data for tests/test_suite_guard.py, copied into a throwaway project as test_leaves_processes.py.
# LEFTOVER_SECONDS tells the two sleeps apart from any other test's.
import os
import subprocess

SECONDS = os.environ["LEFTOVER_SECONDS"]


def test_starts_a_detached_process_and_forgets_it():
    subprocess.Popen(["sleep", SECONDS + "1"], start_new_session=True)


def test_double_forks_a_daemon():
    subprocess.run(["sh", "-c", f"sleep {SECONDS}2 &"], check=True)  # its parent exits: the sleep is an orphan
