import pytest

from phone_number import PhoneNumber


def rejected(raw: str) -> str:
    with pytest.raises(ValueError) as info:
        PhoneNumber(raw)
    return str(info.value)


# --- valid numbers -----------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "(223) 456-7890",
    "223.456.7890",
    "223 456 7890   ",
    "12234567890",
    "+1 (223) 456-7890",
    "  +1-223-456-7890",
])
def test_valid_forms_clean_to_ten_digits(raw):
    assert PhoneNumber(raw).number == "2234567890"


def test_parts_of_the_number():
    phone = PhoneNumber("(987) 654-3210")
    assert (phone.area_code, phone.exchange_code, phone.subscriber_number) == ("987", "654", "3210")


def test_pretty_print():
    assert PhoneNumber("+1.223.456.7890").pretty() == "(223) 456-7890"


def test_country_code_is_dropped_before_splitting():
    phone = PhoneNumber("1 (415) 555-0199")
    assert (phone.number, phone.area_code) == ("4155550199", "415")


# --- digit counts ------------------------------------------------------------------------

def test_nine_digits():
    assert rejected("223 456 789") == "fewer than 10 digits"


def test_empty_input():
    assert rejected("") == "fewer than 10 digits"


def test_twelve_digits():
    assert rejected("1 223 456 78901") == "more than 11 digits"


def test_eleven_digits_with_wrong_country_code():
    assert rejected("22234567890") == "11-digit numbers must start with 1"


# --- characters --------------------------------------------------------------------------

def test_letters():
    assert rejected("223-abc-7890") == "letters are not allowed"


def test_other_punctuation():
    assert rejected("223-@:!-7890") == "punctuation is not allowed"


def test_plus_in_the_middle_is_punctuation():
    assert rejected("223+456+7890") == "punctuation is not allowed"


def test_letters_are_checked_before_the_digit_count():
    assert rejected("123abc") == "letters are not allowed"


# --- area and exchange codes -------------------------------------------------------------

@pytest.mark.parametrize("raw, message", [
    ("(023) 456-7890", "area code cannot start with 0"),
    ("(123) 456-7890", "area code cannot start with 1"),
    ("(223) 056-7890", "exchange code cannot start with 0"),
    ("(223) 156-7890", "exchange code cannot start with 1"),
    ("1 (023) 456-7890", "area code cannot start with 0"),
    ("+1 (223) 156-7890", "exchange code cannot start with 1"),
])
def test_bad_area_or_exchange_code(raw, message):
    assert rejected(raw) == message


def test_area_code_is_checked_before_exchange_code():
    assert rejected("(123) 056-7890") == "area code cannot start with 1"
