"""Acceptance tests for template.py: variables, lookup rules, filters, blocks, comments, errors."""
import pytest

from template import Template, TemplateError, render


class User:
    def __init__(self, name, tags=()):
        self.name = name
        self.tags = list(tags)


def test_plain_text_is_copied_exactly():
    source = "Hello, world!\n  { single } braces }} and %} stay.\n"
    assert render(source) == source


def test_variable_substitution():
    assert render("Hello, {{ name }}!", {"name": "Ada"}) == "Hello, Ada!"


def test_spaces_inside_tags_are_optional():
    assert render("{{name}}|{{   name   }}|{%if name%}yes{%endif%}", name="x") == "x|x|yes"


def test_undefined_and_none_render_as_empty_text():
    assert render("[{{ missing }}][{{ nothing }}]", nothing=None) == "[][]"


def test_non_string_values_use_str():
    assert render("{{ n }} {{ f }} {{ b }} {{ items }}", n=3, f=2.5, b=False, items=[1, 2]) == \
        "3 2.5 False [1, 2]"


def test_dotted_lookup_into_nested_mappings():
    ctx = {"order": {"customer": {"city": "Lyon"}}}
    assert render("{{ order.customer.city }}", ctx) == "Lyon"


def test_dotted_lookup_into_attributes():
    assert render("{{ user.name }}", user=User("Grace")) == "Grace"


def test_numeric_segment_indexes_lists_and_tuples():
    assert render("{{ xs.0 }}-{{ xs.2 }}-{{ t.1.name }}", xs=["a", "b", "c"], t=(0, User("Linus"))) == \
        "a-c-Linus"


def test_index_out_of_range_or_missing_step_is_undefined():
    assert render("[{{ xs.5 }}][{{ a.b.c }}][{{ user.age }}]", xs=[1], a={}, user=User("x")) == "[][][]"


def test_mapping_key_wins_over_attribute():
    # A dict's "items" key must be used, not the dict.items method.
    assert render("{{ d.items }}", d={"items": "from key"}) == "from key"


def test_callables_are_not_called():
    out = render("{{ user.shout }}", user={"shout": lambda: "CALLED"})
    assert "CALLED" not in out and out.startswith("<function")


def test_escape_filter_escapes_all_five_characters():
    assert render("{{ s | escape }}", s="""<a href="x">Tom & Jerry's</a>""") == \
        "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#x27;s&lt;/a&gt;"


def test_nothing_is_escaped_without_the_filter():
    assert render("{{ s }}", s="<b>&") == "<b>&"


def test_filters_apply_left_to_right():
    assert render("{{ s | upper | escape }}", s="<a>") == "&lt;A&gt;"
    assert render("{{ s|escape|upper }}", s="<a>") == "&LT;A&GT;"
    assert render("{{ s | lower }}", s="MiXeD") == "mixed"


def test_escape_on_non_string_and_undefined_values():
    assert render("{{ n | escape }}[{{ nope | upper }}]", n=5) == "5[]"


def test_if_true_and_false():
    tpl = Template("a{% if flag %}B{% endif %}c")
    assert tpl.render(flag=True) == "aBc"
    assert tpl.render(flag=False) == "ac"


def test_if_else():
    tpl = Template("{% if user %}Hi {{ user }}{% else %}Hi stranger{% endif %}")
    assert tpl.render(user="Ann") == "Hi Ann"
    assert tpl.render() == "Hi stranger"


def test_elif_chain_takes_the_first_true_branch():
    tpl = Template("{% if a %}A{% elif b %}B{% elif c %}C{% else %}none{% endif %}")
    assert tpl.render(a=1, b=1, c=1) == "A"
    assert tpl.render(b=1, c=1) == "B"
    assert tpl.render(c=1) == "C"
    assert tpl.render() == "none"


def test_not_condition_and_python_truthiness():
    tpl = Template("{% if not v %}empty{% else %}full{% endif %}")
    assert [tpl.render(v=v) for v in ([], 0, "", None, [0], 1, "x")] == \
        ["empty"] * 4 + ["full"] * 3
    assert tpl.render() == "empty"


def test_for_loop_renders_body_per_item_with_newlines_kept():
    source = "<ul>\n{% for item in items %}  <li>{{ item }}</li>\n{% endfor %}</ul>"
    assert render(source, items=["a", "b"]) == "<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>"


def test_for_over_empty_missing_or_none_renders_nothing():
    tpl = Template("[{% for x in xs %}{{ x }}{% endfor %}]")
    assert tpl.render(xs=[]) == "[]"
    assert tpl.render() == "[]"
    assert tpl.render(xs=None) == "[]"


def test_for_over_dotted_name_and_generators_and_dict_keys():
    assert render("{% for t in user.tags %}#{{ t }}{% endfor %}", user=User("u", ["x", "y"])) == "#x#y"
    assert render("{% for n in nums %}{{ n }}{% endfor %}", nums=(i * i for i in range(4))) == "0149"
    assert render("{% for k in d %}{{ k }};{% endfor %}", d={"b": 1, "a": 2}) == "b;a;"


def test_loop_index_first_last():
    source = "{% for x in xs %}{{ loop.index }}:{{ x }}{% if loop.first %}(first){% endif %}" \
             "{% if loop.last %}(last){% else %}, {% endif %}{% endfor %}"
    assert render(source, xs=["a", "b", "c"]) == "1:a(first), 2:b, 3:c(last)"
    assert render(source, xs=["only"]) == "1:only(first)(last)"


def test_nested_loops_see_outer_variables_and_shadow_loop():
    source = ("{% for row in rows %}{% for cell in row.cells %}"
              "{{ row.name }}{{ loop.index }}={{ cell }} {% endfor %}"
              "/{{ loop.index }} {% endfor %}")
    rows = [{"name": "r", "cells": [1, 2]}, {"name": "s", "cells": [3]}]
    assert render(source, rows=rows) == "r1=1 r2=2 /1 s1=3 /2 "


def test_loop_names_get_their_previous_values_back_after_the_loop():
    source = "{{ x }}|{% for x in xs %}{{ x }}{% endfor %}|{{ x }}|{{ loop.index }}"
    assert render(source, x="outer", xs=[1, 2]) == "outer|12|outer|"
    assert render("{% for y in ys %}{% endfor %}[{{ y }}]", ys=[1]) == "[]"


def test_comments_are_removed_even_across_lines_and_around_tags():
    source = "a{# one #}b{# multi\nline {{ not_a_var }} {% if %} #}c"
    assert render(source, not_a_var="X") == "abc"


def test_keyword_arguments_win_over_context_and_context_is_not_modified():
    ctx = {"name": "ctx", "xs": [1]}
    tpl = Template("{{ name }}{% for name in xs %}{{ name }}{% endfor %}")
    assert tpl.render(ctx) == "ctx1"
    assert tpl.render(ctx, name="kw") == "kw1"
    assert ctx == {"name": "ctx", "xs": [1]}


def test_template_is_reusable():
    tpl = Template("{{ a }}-{{ b }}")
    assert [tpl.render(a=i, b=i * 2) for i in range(3)] == ["0-0", "1-2", "2-4"]


@pytest.mark.parametrize("source", [
    "Hello {{ name",              # unclosed variable
    "{% if x %}yes",              # block never closed
    "{% for x in xs %}",          # block never closed
    "text {# never closed",       # unclosed comment
    "{% if x",                    # unclosed tag
    "{{ }}",                      # empty expression
    "{%  %}",                     # empty tag
    "{{ a..b }}",                 # bad dotted name
    "{{ 1x }}",                   # name starting with a digit
    "{{ a b }}",                  # extra words
    "{{ _secret }}",              # leading underscore
    "{{ a.__class__ }}",          # leading underscore in a later segment
    "{{ a | }}",                  # | without a filter
    "{{ a | shout }}",            # unknown filter
    "{% while x %}{% endwhile %}",  # unknown tag
    "{% if %}x{% endif %}",       # if without a condition
    "{% if a b %}x{% endif %}",   # if with extra words
    "{% for x of xs %}{% endfor %}",
    "{% for x in %}{% endfor %}",
    "{% for a.b in xs %}{% endfor %}",
    "{% endif %}",                # endif outside if
    "{% else %}",                 # else outside if
    "{% elif x %}",               # elif outside if
    "{% endfor %}",               # endfor outside for
    "{% if a %}x{% endfor %}",    # wrong end tag
    "{% for x in xs %}{% endif %}",
    "{% for x in xs %}a{% else %}b{% endfor %}",
    "{% if a %}1{% else %}2{% else %}3{% endif %}",
    "{% if a %}1{% else %}2{% elif b %}3{% endif %}",
    "{% if a %}1{% endif a %}",   # extra words after endif
    "{% if a %}1{% else b %}2{% endif %}",
])
def test_malformed_templates_raise_template_error_when_constructed(source):
    with pytest.raises(TemplateError):
        Template(source)


def test_error_message_names_the_line_of_the_offending_tag():
    with pytest.raises(TemplateError) as info:
        Template("line one\nline two\n  {{ bad name }}\n")
    assert "line 3" in str(info.value)


def test_unclosed_block_error_names_the_line_of_the_opening_tag():
    with pytest.raises(TemplateError) as info:
        Template("a\n{% for x in xs %}\n{% if x %}\n{% endif %}\nb\n")
    assert "line 2" in str(info.value)


def test_looping_over_a_non_iterable_raises_template_error_at_render_time():
    tpl = Template("{% for x in n %}{{ x }}{% endfor %}")
    with pytest.raises(TemplateError):
        tpl.render(n=42)
