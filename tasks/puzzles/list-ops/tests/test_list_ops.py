import ast
from pathlib import Path

from list_ops import append, concat, filter, foldl, foldr, length, map, reverse


# --- append ------------------------------------------------------------------------------

def test_append_two_empty_lists():
    assert append([], []) == []


def test_append_to_an_empty_list():
    assert append([], ["a", "b"]) == ["a", "b"]


def test_append_keeps_order():
    assert append([3, 1], [4, 1, 5]) == [3, 1, 4, 1, 5]


def test_append_leaves_its_arguments_alone():
    first, second = [1, 2], [3]
    result = append(first, second)
    result.append(99)
    assert (first, second) == ([1, 2], [3])


# --- concat ------------------------------------------------------------------------------

def test_concat_of_no_lists():
    assert concat([]) == []


def test_concat_joins_in_order_and_skips_empty_lists():
    assert concat([[1, 2], [], [3], [4, 5, 6]]) == [1, 2, 3, 4, 5, 6]


def test_concat_flattens_one_level_only():
    assert concat([[[1], [2]], [[3]], [[]]]) == [[1], [2], [3], []]


# --- filter, length, map -----------------------------------------------------------------

def test_filter_empty_list():
    assert filter(lambda n: n > 0, []) == []


def test_filter_keeps_matching_items_in_order():
    assert filter(lambda n: n % 3 == 0, [9, 4, 3, 7, 12, 0]) == [9, 3, 12, 0]


def test_length_of_empty_list():
    assert length([]) == 0


def test_length_counts_nested_lists_as_one_item():
    assert length([1, [2, 3], "four", None]) == 4


def test_map_empty_list():
    assert map(lambda x: x * 2, []) == []


def test_map_applies_function_in_order():
    assert map(str.upper, ["ab", "c", "de"]) == ["AB", "C", "DE"]


# --- folds -------------------------------------------------------------------------------

def test_foldl_empty_list_returns_initial():
    assert foldl(lambda acc, x: acc * x, [], 7) == 7


def test_foldl_sums():
    assert foldl(lambda acc, x: acc + x, [1, 2, 3, 4], 10) == 20


def test_foldl_passes_accumulator_first_and_goes_left_to_right():
    assert foldl(lambda acc, x: f"({acc}{x})", ["a", "b", "c"], "z") == "(((za)b)c)"


def test_foldr_empty_list_returns_initial():
    assert foldr(lambda x, acc: acc * x, [], 5) == 5


def test_foldr_passes_item_first_and_goes_right_to_left():
    assert foldr(lambda x, acc: f"({x}{acc})", ["a", "b", "c"], "z") == "(a(b(cz)))"


def test_foldr_division_order():
    # 2 / (8 / (64 / 4)) == 4.0
    assert foldr(lambda x, acc: x / acc, [2, 8, 64], 4) == 4.0


# --- reverse -----------------------------------------------------------------------------

def test_reverse_empty_list():
    assert reverse([]) == []


def test_reverse_items():
    assert reverse([1, 3, 5, 7]) == [7, 5, 3, 1]


def test_reverse_leaves_nested_lists_intact():
    assert reverse([[1, 2], [3], []]) == [[], [3], [1, 2]]


def test_reverse_does_not_modify_its_argument():
    items = [1, 2, 3]
    reverse(items)
    assert items == [1, 2, 3]


# --- the rules of the exercise -----------------------------------------------------------

FORBIDDEN_CALLS = {"len", "sum", "sorted", "reversed", "list", "tuple", "min", "max", "any",
                   "all", "enumerate", "zip", "iter", "next"}
FORBIDDEN_METHODS = {"extend", "reverse", "sort", "insert", "copy", "pop"}


def test_source_uses_no_builtin_helpers():
    source = (Path(__file__).parent / "list_ops.py").read_text(encoding="utf-8")
    problems = []
    for node in ast.walk(ast.parse(source)):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            problems.append(f"{where}: import")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in FORBIDDEN_CALLS:
            problems.append(f"{where}: call to {node.func.id}()")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in FORBIDDEN_METHODS:
            problems.append(f"{where}: call to .{node.func.attr}()")
        elif isinstance(node, ast.Slice) and node.step is not None:
            problems.append(f"{where}: slice with a step")
        elif isinstance(node, ast.Starred):
            problems.append(f"{where}: star-unpacking")
    assert problems == []
