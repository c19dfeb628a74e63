"""The fast constructors equal the dataclasses' own, and a task table read a run at a time
equals the same table read line by line."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Token

from oomlens import transform
from oomlens.fastinit import DATACLASS_INITS, from_row, positional
from oomlens.model import BuddyBucket, Envelope, Frame, LogLine, Task
from oomlens.splitter import normalise
from oomlens.transform import build_event

ints = st.integers(min_value=-(2**40), max_value=2**40)
names = st.text(max_size=12)
# a log line never holds a newline (the reader splits on it)
line_text = st.text(st.characters(blacklist_characters="\n"), max_size=12)
COLUMNS = ("uid", "tgid", "total_vm_pages", "rss_pages", "pgtables_bytes", "swapents")


@given(pid=ints, name=names, line=ints, values=st.lists(ints, min_size=6, max_size=6))
def test_positional_task_equals_keywords(pid: int, name: str, line: int, values: list[int]) -> None:
    make = positional(Task, ("pid", "name", "line", *COLUMNS))
    columns: dict[str, Any] = dict(zip(COLUMNS, values, strict=True))
    expected = Task(pid=pid, name=name, line=line, **columns)
    made = make(pid, name, line, *values)
    assert made == expected
    assert repr(made) == repr(expected)


@given(values=st.lists(st.integers(0, 10**9), min_size=7, max_size=7), name=names, line=ints)
def test_row_task_equals_keywords(values: list[int], name: str, line: int) -> None:
    layout = ("pid", *COLUMNS, "name")
    make = from_row(Task, layout, frozenset(("pid", *COLUMNS)), ("line",))
    row = (*map(str, values), name)
    columns: dict[str, Any] = dict(zip(COLUMNS, values[1:], strict=True))
    expected = Task(pid=values[0], name=name, line=line, **columns)
    assert make(row, line) == expected


def test_defaults_and_frozenness_are_kept() -> None:
    frame = positional(Frame, ("function",))("schedule")
    assert frame == Frame(function="schedule")
    bucket = positional(BuddyBucket, ("block_kib", "count"))(4, 1)
    assert bucket.migrate_types is None
    with pytest.raises(AttributeError):
        bucket.count = 2  # type: ignore[misc]


def test_unknown_field_and_plain_class_are_refused() -> None:
    with pytest.raises(TypeError, match="no field"):
        positional(Task, ("pid", "name", "bogus"))
    with pytest.raises(TypeError, match="slotted dataclass"):
        positional(dict, ("a",))
    with pytest.raises(TypeError, match="no default"):
        positional(Task, ("pid",))


HEADER = "java invoked oom-killer: gfp_mask=0x201da, order=0, oom_score_adj=0"
TABLE_HEADER = "[ pid ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"
spaces = st.sampled_from([" ", "  ", "     ", "\t", " \t", "\u00a0"])
cell = st.one_of(st.integers(-1000, 10**9).map(str), st.sampled_from(["", "12ab", "-", "1-"]))
row_name = st.one_of(line_text, st.sampled_from(["", " ", "\tx", "a b", "<script>", "x\u2028y"]))


@st.composite
def task_rows(draw: st.DrawFn) -> list[str]:
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        cells = [draw(st.integers(0, 99999).map(str))] + draw(
            st.lists(cell, min_size=5, max_size=8)
        )
        text = "[" + draw(spaces) + cells[0] + "]"
        for value in cells[1:]:
            text += draw(spaces) + value
        if draw(st.booleans()):
            text += draw(spaces) + draw(row_name)
        rows.append(text)
    return rows


def _tasks(rows: list[str]) -> tuple[object, ...]:
    texts = [HEADER, TABLE_HEADER, *rows]
    lines = [
        LogLine(path="t.log", number=10 + i, text=normalise(text), envelope=Envelope.BARE)
        for i, text in enumerate(texts)
    ]
    event = build_event(lines)
    return event.tasks, event.unparsed


@settings(max_examples=300, deadline=None)
@given(rows=task_rows())
def test_task_run_equals_line_by_line(rows: list[str]) -> None:
    fast = _tasks(rows)
    run_at_once = transform.ReportTransformer._task_run
    transform.ReportTransformer._task_run = lambda *_: False  # type: ignore[method-assign]
    try:
        slow = _tasks(rows)
    finally:
        transform.ReportTransformer._task_run = run_at_once  # type: ignore[method-assign]
    assert fast == slow


def test_kernel_spaced_run_takes_the_fast_path() -> None:
    rows = ["[  101]     0   101    10000     2000    65536        0             0 a b"] * 3
    answers: list[bool] = []
    run_at_once = transform.ReportTransformer._task_run

    def recording(
        self: transform.ReportTransformer, token: Token, first: int, fields: tuple[str, ...]
    ) -> bool:
        answers.append(run_at_once(self, token, first, fields))
        return answers[-1]

    transform.ReportTransformer._task_run = recording  # type: ignore[method-assign,assignment]
    try:
        tasks, unparsed = _tasks(rows)
    finally:
        transform.ReportTransformer._task_run = run_at_once  # type: ignore[method-assign]
    assert answers == [True]
    assert unparsed == ()
    assert [t.name for t in tasks] == ["a b"] * 3  # type: ignore[attr-defined]


def _model_classes() -> list[type]:
    from oomlens import model

    return list(model._MAKERS)


@pytest.mark.parametrize("cls", _model_classes(), ids=lambda cls: cls.__name__)
def test_fast_init_takes_the_dataclass_parameters_and_sets_the_same_fields(cls: type) -> None:
    """Every model class's ``__init__`` has the parameters (names, kinds, defaults) of the
    one ``dataclass`` generated, and gives the object that one gives: with only the
    required fields, and with every field given."""
    original = DATACLASS_INITS[cls]
    assert inspect.signature(cls.__init__) == inspect.signature(original)
    specs = [spec for spec in dataclasses.fields(cls) if spec.init]
    required = {
        spec.name: f"value of {spec.name}"
        for spec in specs
        if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
    }
    every = {spec.name: (spec.name, 1) for spec in specs}
    for arguments in (required, every):
        made = cls(**arguments)
        expected = object.__new__(cls)
        original(expected, **arguments)
        for spec in dataclasses.fields(cls):
            assert getattr(made, spec.name) == getattr(expected, spec.name), spec.name
        if len(arguments) == len(required):  # defaults from factories are made per object
            other = cls(**arguments)
            for spec in dataclasses.fields(cls):
                if spec.default_factory is not dataclasses.MISSING:
                    value = getattr(made, spec.name)
                    assert value == getattr(other, spec.name)
                    if isinstance(value, (list, dict, set)):
                        assert value is not getattr(other, spec.name)


def test_fast_init_keeps_objects_frozen_and_refuses_unknown_keywords() -> None:
    line = LogLine(path="p", number=1, text="t", envelope=Envelope.BARE)
    with pytest.raises(AttributeError):
        line.number = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        LogLine(path="p", number=1, text="t", envelope=Envelope.BARE, bogus=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        LogLine("p", 1, "t", Envelope.BARE)  # type: ignore[misc]
    assert dataclasses.replace(line, number=3) == LogLine(
        path="p", number=3, text="t", envelope=Envelope.BARE
    )


def test_made_objects_are_of_the_frozen_class_itself() -> None:
    """A maker fills a draft and hands over an object of the model class: same type, same
    hash and equality, still frozen, no trace of the draft."""
    made = positional(Task, ("pid", "name"))(7, "java")
    assert type(made) is Task
    assert made == Task(pid=7, name="java") and hash(made) == hash(Task(pid=7, name="java"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.pid = 8  # type: ignore[misc]
    assert not hasattr(made, "__dict__")


def test_a_class_laid_out_otherwise_is_made_through_its_descriptors() -> None:
    from oomlens.fastinit import _draft

    @dataclasses.dataclass(frozen=True, slots=True, weakref_slot=True)
    class Weak:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Base:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived(Base):
        b: int = 0

    assert _draft(Task) is not None
    for cls in (Weak, Derived):
        assert _draft(cls) is None
        made = positional(cls, ("a",))(1)
        assert type(made) is cls and made == cls(a=1)  # type: ignore[call-arg]
