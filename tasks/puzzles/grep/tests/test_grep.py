from pathlib import Path

import pytest

from grep import grep

LIGHTHOUSE = ["lighthouse.txt"]
ALL = ["lighthouse.txt", "orchard.txt", "market.txt"]


@pytest.fixture(autouse=True)
def in_task_folder(monkeypatch):
    # The input files sit next to this test file; grep() receives relative names.
    monkeypatch.chdir(Path(__file__).parent)


# --- one file ---------------------------------------------------------------------------

def test_one_matching_line():
    assert grep("roar", "", LIGHTHOUSE) == "Below, the breakers roar and foam;\n"


def test_several_matching_lines_in_file_order():
    assert grep("keeper", "", LIGHTHOUSE) == (
        "The keeper climbs the winding stair\n"
        "The keeper climbs the stair again\n"
    )


def test_no_match_gives_empty_string():
    assert grep("lantern", "", LIGHTHOUSE) == ""


def test_line_numbers():
    assert grep("keeper", "-n", LIGHTHOUSE) == (
        "1:The keeper climbs the winding stair\n"
        "7:The keeper climbs the stair again\n"
    )


def test_case_insensitive():
    assert grep("THE LAMP", "-i", LIGHTHOUSE) == "Above, the lamp calls sailors home.\n"


def test_case_sensitive_by_default():
    assert grep("THE LAMP", "", LIGHTHOUSE) == ""


def test_file_names_only():
    assert grep("gull", "-l", LIGHTHOUSE) == "lighthouse.txt\n"


def test_whole_line():
    assert grep("A gull sits on the iron rail,", "-x", LIGHTHOUSE) == "A gull sits on the iron rail,\n"


def test_whole_line_rejects_a_mere_substring():
    assert grep("A gull sits", "-x", LIGHTHOUSE) == ""


def test_invert_is_case_sensitive_and_matches_inside_words():
    # "they" contains "the"; only the line with a capital "The" and no "the" is selected.
    assert grep("the", "-v", ["orchard.txt"]) == "The cider press begins to turn;\n"


def test_invert_with_line_numbers():
    assert grep("e", "-n -v", ["market.txt"]) == "4:Lamp oil, two jars\n6:THE END OF MARKET DAY\n"


def test_pattern_is_a_fixed_string_not_a_regex():
    assert grep(".", "", LIGHTHOUSE) == (
        "And trims the wick with patient care.\n"
        "Above, the lamp calls sailors home.\n"
        "Unbothered by the rising gale.\n"
        "To watch the ships beyond the rain.\n"
    )


def test_whole_line_case_insensitive():
    assert grep("the end of market day", "-x -i", ["market.txt"]) == "THE END OF MARKET DAY\n"


def test_number_case_insensitive_and_whole_line_together():
    assert grep("to watch the ships beyond the rain.", "-n -i -x", LIGHTHOUSE) == (
        "8:To watch the ships beyond the rain.\n"
    )


@pytest.mark.parametrize("flags", ["-n -i", "-i -n"])
def test_flag_order_does_not_matter(flags):
    assert grep("fresh", flags, ["market.txt"]) == "1:Fresh bread at dawn\n5:fresh bread at dusk\n"


def test_last_line_without_newline_still_ends_with_newline(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("alpha\nbeta", encoding="utf-8")
    assert grep("beta", "", [str(path)]) == "beta\n"


# --- several files ----------------------------------------------------------------------

def test_several_files_one_match_is_prefixed_with_the_file_name():
    assert grep("ladder", "", ALL) == "orchard.txt:A ladder leans against the wall,\n"


def test_several_files_matches_in_two_files():
    assert grep("lamp", "-i", ALL) == (
        "lighthouse.txt:Above, the lamp calls sailors home.\n"
        "market.txt:Lamp oil, two jars\n"
    )


def test_several_files_name_comes_before_line_number():
    assert grep("bread", "-n -i", ALL) == (
        "market.txt:1:Fresh bread at dawn\n"
        "market.txt:5:fresh bread at dusk\n"
    )


def test_several_files_names_only_each_once():
    assert grep("ing", "-l", ALL) == "lighthouse.txt\norchard.txt\n"


def test_names_only_ignores_line_numbers():
    assert grep("ing", "-l -n", ALL) == "lighthouse.txt\norchard.txt\n"


def test_output_follows_the_order_of_the_files_argument():
    assert grep("the", "-l -i", ["market.txt", "lighthouse.txt"]) == "market.txt\nlighthouse.txt\n"


def test_names_only_with_invert_lists_files_with_a_non_matching_line():
    assert grep("a", "-v -l", ALL) == "orchard.txt\nmarket.txt\n"


def test_several_files_no_match():
    assert grep("zebra", "", ALL) == ""


# --- errors -----------------------------------------------------------------------------

def test_unknown_flag_is_rejected_by_name():
    with pytest.raises(ValueError, match="-z"):
        grep("keeper", "-n -z", LIGHTHOUSE)


def test_missing_file_raises_file_not_found():
    with pytest.raises(FileNotFoundError):
        grep("keeper", "", ["no-such-file.txt"])
