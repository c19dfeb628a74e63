"""The `when` language: parsing, units, three-valued evaluation and located errors."""

from __future__ import annotations

import pytest

from oomlens.conditions import ConditionError, compile_condition

UNITS: dict[str, str | None] = {
    "usage_kib": "kib",
    "share": "ratio",
    "flag": "bool",
    "comm": "str",
    "count": "count",
    "age": "s",
    "order": "count",  # starts like a keyword: "or"
    "nothing": "bool",  # "not"
    "island": "bool",  # "is"
}


def holds(text: str, **values: object) -> bool:
    return compile_condition(text, UNITS).evaluate(values)


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("usage_kib > 512 MiB", {"usage_kib": 600 * 1024}, True),
        ("usage_kib > 512 MiB", {"usage_kib": 500 * 1024}, False),
        ("usage_kib >= 2 GB", {"usage_kib": 2_000_000_000 // 1024 + 1}, True),
        ("usage_kib == 4 KiB", {"usage_kib": 4}, True),
        ("usage_kib < 1 kB", {"usage_kib": 0}, True),
        ("usage_kib > 0", {"usage_kib": 1}, True),
        ("share >= 80%", {"share": 0.8}, True),
        ("share >= 80%", {"share": 0.79}, False),
        ("age < 30 s", {"age": 29.5}, True),
        ("age >= 2 min", {"age": 120}, True),
        ("age > 500 ms", {"age": 0.4}, False),
        ('comm == "java"', {"comm": "java"}, True),
        ('comm != "java"', {"comm": "java"}, False),
        ('comm == "a \\"quoted\\" name"', {"comm": 'a "quoted" name'}, True),
        ("flag", {"flag": True}, True),
        ("flag == false", {"flag": False}, True),
        ("not flag", {"flag": False}, True),
        ("count > 3 and flag", {"count": 4, "flag": True}, True),
        ("count > 3 or flag", {"count": 1, "flag": False}, False),
        ("not (count > 3 or flag)", {"count": 1, "flag": False}, True),
        ("count >= -1", {"count": -1}, True),
        ("count is null", {"count": None}, True),
        ("count is not null", {"count": 0}, True),
        ("usage_kib > 1 MiB and\n  share > 50%", {"usage_kib": 2048, "share": 0.6}, True),
    ],
)
def test_evaluates(text: str, values: dict[str, object], expected: bool) -> None:
    assert holds(text, **values) is expected


@pytest.mark.parametrize(
    "text",
    [
        "count > 3",
        "not (count > 3)",
        "count != 3",
        "flag",
        "not flag",
        "count > 3 or share > 50%",  # unknown or false stays unknown
        "not (count > 3 and flag)",
    ],
)
def test_missing_evidence_never_fires(text: str) -> None:
    condition = compile_condition(text, UNITS)
    assert condition.evaluate({"count": None, "flag": None, "share": 0.1}) is False
    assert condition.evaluate3({"count": None, "flag": None, "share": 0.1}) is None


def test_kleene_logic_decides_when_a_known_side_decides() -> None:
    assert holds("count > 3 or flag", count=None, flag=True) is True
    condition = compile_condition("count > 3 and flag", UNITS)
    assert condition.evaluate3({"count": None, "flag": False}) is False


def test_facts_in_order_of_appearance() -> None:
    condition = compile_condition("flag and (share > 1% or flag) and count is null", UNITS)
    assert condition.facts == ("flag", "share", "count")


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("usage_kib > 80%", 1, 13, "cannot compare fact 'usage_kib' (memory) with ratio"),
        ("share > 1 MiB", 1, 9, "cannot compare fact 'share' (ratio) with memory"),
        ("usage_kib > 5", 1, 13, "cannot compare"),
        ("age > 1 GiB", 1, 7, "cannot compare"),
        ('count > "x"', 1, 9, "cannot compare"),
        ("nosuch > 1", 1, 1, "unknown fact 'nosuch'"),
        ("count > 1 and\n  nosuch", 2, 3, "unknown fact 'nosuch'"),
        ("usage_kib >", 1, 12, "ends too early"),
        ("(count > 1", 1, 11, "ends too early"),
        ("count > 1 )", 1, 11, "unexpected ')'"),
        ("count >> 1", 1, 8, "unexpected '>'"),
        ("count > 1\n  and and flag", 2, 7, "unexpected 'and'"),
        ("count # 1", 1, 7, "unexpected character '#'"),
        ("count > 1 MiBs", 1, 11, "unexpected character"),
        ('comm > "a"', 1, 6, "'>' needs numbers"),
        ("flag < true", 1, 6, "'<' needs numbers"),
        ("count", 1, 1, "not bool"),
        ("5 > 3", 1, 1, "one side must be a fact"),
        ("nosuch is null", 1, 1, "unknown fact"),
        ("count + 1 > 2", 1, 7, "unexpected character '+'"),
    ],
)
def test_errors_carry_line_and_column(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition(text, UNITS)
    error = caught.value
    assert message in error.message
    assert (error.line, error.column) == (line, column), str(error)
    assert str(error).startswith(f"{line}:{column}: ")


def test_zero_matches_any_numeric_unit() -> None:
    assert holds("share == 0", share=0.0)
    assert holds("age > 0", age=3)


def test_fact_names_may_start_like_keywords() -> None:
    assert holds("order > 3 and nothing or island", order=4, nothing=True, island=False)
    assert holds("not nothing and order is not null", nothing=False, order=1)
