"""Acceptance tests for graph.py: deterministic Kahn toposort, layers and cycle reporting."""
import copy
import random

import pytest

from graph import CycleError, detect_cycle, toposort, toposort_layers


def assert_valid_order(graph, order):
    position = {node: i for i, node in enumerate(order)}
    assert len(position) == len(order), "a node appears twice"
    for node, deps in graph.items():
        for dep in deps:
            assert position[dep] < position[node], f"{dep!r} must come before {node!r}"


def test_empty_graph_sorts_to_empty_list():
    assert toposort({}) == []


def test_single_node_without_dependencies():
    assert toposort({"solo": []}) == ["solo"]


def test_chain_puts_dependencies_first_including_dependency_only_nodes():
    assert toposort({"c": ["b"], "b": ["a"]}) == ["a", "b", "c"]


def test_independent_nodes_come_out_in_lexicographic_order():
    assert toposort({"b": [], "c": [], "a": []}) == ["a", "b", "c"]


def test_diamond():
    assert toposort({"d": ["b", "c"], "b": ["a"], "c": ["a"]}) == ["a", "b", "c", "d"]


def test_ties_are_broken_among_ready_nodes_not_by_a_global_sort():
    assert toposort({"a": ["z"], "b": [], "z": []}) == ["b", "z", "a"]


def test_newly_ready_smaller_node_overtakes_earlier_ready_nodes():
    # After "a", both "b" (just released) and "c" (ready from the start) are ready: "b" wins.
    assert toposort({"b": ["a"], "c": [], "a": []}) == ["a", "b", "c"]


def test_result_does_not_depend_on_mapping_insertion_order():
    items = [("web", ["api", "static"]), ("api", ["db", "cache"]), ("db", []),
             ("cache", ["db"]), ("static", []), ("worker", ["db"])]
    expected = toposort(dict(items))
    rng = random.Random(1234)
    for _ in range(5):
        rng.shuffle(items)
        assert toposort(dict(items)) == expected
    assert expected == ["db", "cache", "api", "static", "web", "worker"]


def test_duplicate_dependencies_count_once():
    assert toposort({"b": ["a", "a", "a"]}) == ["a", "b"]


def test_accepts_tuples_sets_and_generators_and_does_not_modify_input():
    graph = {"c": ("a", "b"), "b": {"a"}, "a": []}
    before = copy.deepcopy(graph)
    assert toposort(graph) == ["a", "b", "c"]
    assert graph == before
    assert toposort({"y": (n for n in ["x"])}) == ["x", "y"]


def test_integer_nodes_sort_numerically():
    assert toposort({10: [2], 2: [], 9: []}) == [2, 9, 10]


def test_string_instead_of_collection_raises_type_error():
    with pytest.raises(TypeError):
        toposort({"a": "bc"})
    with pytest.raises(TypeError):
        detect_cycle({"a": "bc"})


def test_larger_random_dag_is_a_valid_order():
    rng = random.Random(7)
    nodes = [f"n{i:03d}" for i in range(200)]
    graph = {node: rng.sample(nodes[:i], min(i, rng.randint(0, 4))) for i, node in enumerate(nodes)}
    order = toposort(graph)
    assert sorted(order) == sorted(nodes)
    assert_valid_order(graph, order)


def test_self_dependency_is_a_cycle():
    with pytest.raises(CycleError) as info:
        toposort({"a": ["a"]})
    assert info.value.cycle == ["a", "a"]


def test_cycle_error_is_a_value_error_with_readable_message():
    with pytest.raises(ValueError) as info:
        toposort({"a": ["b"], "b": ["a"]})
    assert isinstance(info.value, CycleError)
    assert str(info.value) == "cycle: a -> b -> a"


def test_toposort_cycle_matches_detect_cycle():
    graph = {"start": ["m"], "m": ["n"], "n": ["o"], "o": ["m"], "other": []}
    with pytest.raises(CycleError) as info:
        toposort(graph)
    assert info.value.cycle == detect_cycle(graph) == ["m", "n", "o", "m"]


def test_detect_cycle_returns_none_for_acyclic_graph():
    assert detect_cycle({"d": ["b", "c"], "b": ["a"], "c": ["a"]}) is None
    assert detect_cycle({}) is None


def test_detect_cycle_follows_dependency_direction():
    assert detect_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]


def test_detect_cycle_excludes_nodes_leading_into_the_cycle():
    assert detect_cycle({"a": ["x"], "x": ["y"], "y": ["x"]}) == ["x", "y", "x"]


def test_detect_cycle_is_deterministic_about_which_cycle():
    # Start nodes in sorted order: the a/b cycle is found before the c/d one.
    assert detect_cycle({"d": ["c"], "c": ["d"], "b": ["a"], "a": ["b"]}) == ["a", "b", "a"]
    # Dependencies in sorted order: from "a", "b" is explored before "c".
    assert detect_cycle({"a": ["c", "b"], "b": ["a"], "c": ["a"]}) == ["a", "b", "a"]


def test_detect_cycle_skips_finished_acyclic_parts():
    graph = {"a": ["shared"], "b": ["shared", "c"], "c": ["b"], "shared": []}
    assert detect_cycle(graph) == ["b", "c", "b"]


def test_long_chain_needs_no_recursion():
    n = 5000
    graph = {f"n{i:05d}": [f"n{i - 1:05d}"] for i in range(1, n)}
    order = toposort(graph)
    assert order == [f"n{i:05d}" for i in range(n)]
    assert detect_cycle(graph) is None
    graph["n00000"] = [f"n{n - 1:05d}"]
    cycle = detect_cycle(graph)
    assert cycle is not None and len(cycle) == n + 1
    assert cycle[0] == cycle[-1] == "n00000"
    assert cycle[1] == f"n{n - 1:05d}"


def test_layers_of_a_diamond():
    assert toposort_layers({"d": ["b", "c"], "b": ["a"], "c": ["a"]}) == [["a"], ["b", "c"], ["d"]]


def test_layers_put_a_node_after_its_deepest_dependency():
    graph = {"top": ["a", "mid"], "mid": ["a"], "z": []}
    assert toposort_layers(graph) == [["a", "z"], ["mid"], ["top"]]


def test_layers_of_empty_graph_and_cycle():
    assert toposort_layers({}) == []
    with pytest.raises(CycleError) as info:
        toposort_layers({"ok": [], "p": ["q"], "q": ["p"]})
    assert info.value.cycle == ["p", "q", "p"]
