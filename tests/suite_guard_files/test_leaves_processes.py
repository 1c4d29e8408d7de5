import subprocess


def test_starts_a_detached_process_and_forgets_it():
    subprocess.Popen(["sleep", "307"], start_new_session=True)


def test_double_forks_a_daemon():
    subprocess.run(["sh", "-c", "sleep 308 &"], check=True)  # its parent exits: the sleep is an orphan
