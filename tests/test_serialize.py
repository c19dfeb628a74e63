"""Event lines of the JSON document: orjson's text and json's must read back the same."""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from typing import Any

import pytest

from oomlens import serialize
from oomlens.model import Analysis
from oomlens.serialize import compact_json, json_chunks


def test_orjson_is_used_where_installed() -> None:
    pytest.importorskip("orjson")
    assert serialize._orjson is not None
    assert compact_json({"a": [1, 2.5, None, "é"]}) == '{"a":[1,2.5,null,"é"]}'


def test_the_corpus_document_reads_the_same_with_and_without_orjson(
    corpus_analysis: Analysis, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("orjson")
    analysis = corpus_analysis
    fast = "".join(json_chunks(analysis))
    monkeypatch.setattr(serialize, "_orjson", None)
    plain = "".join(json_chunks(analysis))
    assert fast != plain  # not the same writer: spacing differs
    assert json.loads(fast) == json.loads(plain)
    # one event per line, none empty
    events = fast.split('\n "events": [\n', 1)[1].split("\n ],\n", 1)[0].split("\n")
    assert len(events) == len(analysis.events) > 30


@pytest.mark.parametrize(
    "value",
    [
        {"huge": 10**30, "negative": -(10**25)},  # beyond 64 bits: orjson refuses
        {"text": "bad \udcff byte"},  # a lone surrogate: orjson refuses
        {"nested": [{"k": 2**64}]},
        {1: "an int key"},  # orjson writes it too, as json does
    ],
)
def test_odd_values_are_written_as_json_writes_them(value: dict[object, object]) -> None:
    text = compact_json(value)
    assert "\n" not in text
    assert text == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _plain_reference(value: Any, name: str = "") -> Any:
    """The generic conversion the generated converters must agree with."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain_reference(getattr(value, f.name), f.name) for f in fields(value)}
    if isinstance(value, tuple):
        if name in serialize._PAIRS:
            return {key: _plain_reference(item) for key, item in value}
        return [_plain_reference(item) for item in value]
    return value


def test_generated_converters_agree_with_the_generic_conversion(
    corpus_analysis: Analysis,
) -> None:
    analysis = corpus_analysis
    compared = 0
    for event, explained in zip(analysis.events, analysis.explained, strict=True):
        for value in (event.memory, event.call_trace, explained.replay, *event.kills):
            if value is not None:
                assert serialize._plain(value) == _plain_reference(value)
                compared += 1
    assert compared > 100
    # every converter was generated from a class's own fields
    assert all(is_dataclass(kind) for kind in serialize._CONVERTERS)
