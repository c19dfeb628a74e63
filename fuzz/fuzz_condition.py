"""Coverage-guided fuzzing of the rule condition compiler: only RuleError may escape."""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from oomlens.conditions import compile_condition
    from oomlens.errors import RuleError
    from oomlens.facts import FACTS

UNITS = {name: spec.unit for name, spec in FACTS.items()}


def test_one_input(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    try:
        condition = compile_condition(text, UNITS)
    except RuleError:
        return
    condition.evaluate3(dict.fromkeys(condition.facts))


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
