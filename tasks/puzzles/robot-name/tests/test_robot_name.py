import random
import re
import string

import pytest

from robot_name import Robot

NAME = re.compile(r"^[A-Z]{2}[0-9]{3}$")


class ScriptedRandom(random.Random):
    """A Random whose choice() returns the characters of the given names, in order."""

    def __init__(self, *names: str):
        super().__init__(0)
        self._script = list("".join(names))

    def choice(self, seq):
        assert self._script, "the robot drew more characters than the test scripted"
        char = self._script.pop(0)
        assert char in seq, f"scripted {char!r} was drawn from the wrong alphabet"
        return char


def expected_draw(rng) -> str:
    letters = [rng.choice(string.ascii_uppercase) for _ in range(2)]
    digits = [rng.choice(string.digits) for _ in range(3)]
    return "".join(letters + digits)


@pytest.fixture(autouse=True)
def fresh_names():
    Robot.release_all_names()
    yield
    Robot.release_all_names()


def test_name_has_two_letters_and_three_digits():
    assert NAME.match(Robot(random.Random(1)).name)


def test_name_is_stable_between_reads():
    robot = Robot(random.Random(2))
    assert robot.name == robot.name


def test_name_comes_from_the_injected_generator():
    assert Robot(random.Random(20)).name == expected_draw(random.Random(20))


def test_default_generator_is_the_random_module():
    random.seed(77)
    expected = expected_draw(random)
    random.seed(77)
    assert Robot().name == expected


def test_name_is_drawn_lazily_on_first_read():
    robot = Robot(ScriptedRandom("AB123", "CD456"))
    other = Robot(ScriptedRandom("AB123"))
    assert other.name == "AB123"  # read first, so it gets the first free draw
    assert robot.name == "CD456"


def test_taken_name_is_drawn_again():
    assert Robot(ScriptedRandom("AB123")).name == "AB123"
    assert Robot(ScriptedRandom("AB123", "AB123", "XY789")).name == "XY789"


def test_many_robots_get_unique_names():
    rng = random.Random(2024)
    names = [Robot(rng).name for _ in range(3000)]
    assert all(NAME.match(name) for name in names)
    assert len(set(names)) == 3000


def test_reset_gives_a_new_valid_name():
    robot = Robot(random.Random(5))
    before = robot.name
    robot.reset()
    assert robot.name != before and NAME.match(robot.name)


def test_reset_never_returns_the_old_name():
    robot = Robot(ScriptedRandom("KL555", "KL555", "MN666"))
    assert robot.name == "KL555"
    robot.reset()
    assert robot.name == "MN666"


def test_reset_releases_the_old_name_for_other_robots():
    robot = Robot(ScriptedRandom("QR100", "ST200"))
    assert robot.name == "QR100"
    robot.reset()
    assert Robot(ScriptedRandom("QR100")).name == "QR100"


def test_release_all_names_lets_a_name_be_handed_out_again():
    first = Robot(ScriptedRandom("ZZ999"))
    assert first.name == "ZZ999"
    Robot.release_all_names()
    assert Robot(ScriptedRandom("ZZ999")).name == "ZZ999"
    assert first.name == "ZZ999"
