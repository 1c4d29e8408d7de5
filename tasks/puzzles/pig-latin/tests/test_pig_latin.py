import pytest

from pig_latin import translate


@pytest.mark.parametrize("word, expected", [
    ("apple", "appleay"),
    ("egg", "eggay"),
    ("island", "islanday"),
    ("orange", "orangeay"),
    ("umbrella", "umbrellaay"),
])
def test_word_starting_with_a_vowel(word, expected):
    assert translate(word) == expected


@pytest.mark.parametrize("word, expected", [("xray", "xrayay"), ("yttrium", "yttriumay")])
def test_xr_and_yt_sound_like_vowels(word, expected):
    assert translate(word) == expected


@pytest.mark.parametrize("word, expected", [("pig", "igpay"), ("kite", "itekay")])
def test_single_leading_consonant(word, expected):
    assert translate(word) == expected


@pytest.mark.parametrize("word, expected", [
    ("chair", "airchay"),
    ("three", "eethray"),
    ("school", "oolschay"),
    ("string", "ingstray"),
])
def test_leading_consonant_cluster(word, expected):
    assert translate(word) == expected


def test_x_without_r_is_a_plain_consonant():
    assert translate("xenon") == "enonxay"


def test_qu_moves_together():
    assert translate("quick") == "ickquay"


def test_qu_after_another_consonant_moves_with_the_cluster():
    assert translate("square") == "aresquay"


def test_qu_after_a_vowel_stays_in_place():
    assert translate("liquid") == "iquidlay"


def test_word_starting_with_a_vowel_keeps_its_qu():
    assert translate("equal") == "equalay"


def test_y_at_the_start_is_a_consonant():
    assert translate("yellow") == "ellowyay"


def test_y_after_a_cluster_is_a_vowel():
    assert translate("rhythm") == "ythmrhay"


def test_y_as_the_second_letter_of_a_two_letter_word():
    assert translate("my") == "ymay"


def test_word_without_vowels_moves_entirely():
    assert translate("hmm") == "hmmay"


def test_a_phrase_is_translated_word_by_word():
    assert translate("the quick brown fox") == "ethay ickquay ownbray oxfay"
