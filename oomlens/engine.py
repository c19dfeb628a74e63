"""Load, validate and evaluate the rule catalogue (rules/<area>/<ID>_<slug>.toml).

Loading checks every file and collects every problem (TOML syntax, unknown or missing keys,
bad id/name/cause/severity/priority, condition syntax and units, unknown facts, Jinja syntax
and unknown names in the texts, duplicate ids and priorities) before raising one
:class:`RuleSetError` that lists them all, each with ``file:line:column``.

Evaluation: every rule whose condition is true gives a :class:`Finding` carrying the facts it
used (value, unit, evidence lines). Rules whose cause is a primary cause compete: the firing one
with the highest ``priority`` is the event's primary finding. Priorities of primary candidates
are unique, so the ranking is the catalogue's, not the code's. When none fires, the fallback
rule (``fallback = true``, cause ``unknown``) is the primary finding: evidence too thin.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.environment import Template
from jinja2.sandbox import SandboxedEnvironment

from . import __version__
from .conditions import Condition, ConditionError, compile_condition
from .errors import ErrorLocation, RuleError
from .facts import FACTS, FactContext, LogEvents, fact_evidence, value_of
from .model import (
    PRIMARY_CAUSES,
    Cause,
    FactValue,
    Finding,
    OomEvent,
    Replay,
    Severity,
)
from .resources import data_dir
from .units import human_kib

__all__ = [
    "Rule",
    "RuleProblem",
    "RuleSet",
    "RuleSetError",
    "evaluate",
    "explain_event",
    "load_rules",
]

REQUIRED = ("id", "name", "cause", "severity", "title", "explanation", "remedy")
OPTIONAL = ("priority", "when", "references", "override", "fallback")
TEXT_KEYS = ("title", "explanation", "remedy")
_ID = re.compile(r"^(?P<area>[A-Z]{2,4})(?P<number>\d{3})$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True, slots=True)
class RuleProblem:
    path: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        return f"{ErrorLocation(self.path, self.line, self.column)}: {self.message}"


class RuleSetError(RuleError):
    """One or more rule files are invalid; ``problems`` lists each with its location."""

    def __init__(self, problems: Sequence[RuleProblem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in rules:\n{lines}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    id: str
    name: str
    cause: Cause
    severity: Severity
    priority: int
    condition: Condition | None  # None only for the fallback rule
    title: str
    explanation: str
    remedy: str
    references: tuple[str, ...]
    path: str
    override: bool = False
    fallback: bool = False
    text_facts: tuple[str, ...] = ()  # facts the title/explanation/remedy cite

    @property
    def primary(self) -> bool:
        """The rule competes for the primary finding (its cause is a primary cause)."""
        return self.cause in PRIMARY_CAUSES

    @property
    def facts(self) -> tuple[str, ...]:
        used = list(self.condition.facts) if self.condition else []
        used += [name for name in self.text_facts if name not in used]
        return tuple(used)


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]  # primary candidates by priority (highest first), then the rest

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    @property
    def fallback(self) -> Rule:
        return next(r for r in self.rules if r.fallback)


# --------------------------------------------------------------------------- templates


def _kib(value: Any) -> str:
    """1536 -> '1.5 MiB'; None -> 'unknown'."""
    return human_kib(None if value is None else float(value))


def _pct(value: Any) -> str:
    """0.873 -> '87%' (one decimal below 10%); None -> 'unknown'."""
    if value is None:
        return "unknown"
    percent = float(value) * 100
    return f"{percent:.1f}%" if abs(percent) < 10 else f"{percent:.0f}%"


def _or_unknown(value: Any) -> Any:
    return "unknown" if value is None else value


def _short(value: Any) -> str:
    """A container id shortened as docker and crictl show it (12 characters)."""
    return "unknown" if value is None else str(value)[:12]


@cache
def _environment() -> SandboxedEnvironment:
    """Rule texts are templates named by the digest of their source (``_compiled``); their
    compiled code is kept in the user's cache, as the report templates' is."""
    from jinja2 import FileSystemBytecodeCache, FunctionLoader

    from .resources import cache_dir

    directory = cache_dir(f"rule-texts-{__version__}")
    env = SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        loader=FunctionLoader(_source_of),
        bytecode_cache=None if directory is None else FileSystemBytecodeCache(str(directory)),
    )
    env.filters.update(kib=_kib, pct=_pct, known=_or_unknown, short=_short)
    return env


_SOURCES: dict[str, str] = {}  # rule texts by the digest of their source


def _source_of(name: str) -> tuple[str, None, Callable[[], bool]] | None:
    """A rule text by its name, for the loader; None (TemplateNotFound) for any other name,
    such as one a text's ``{% include %}`` asks for."""
    source = _SOURCES.get(name)
    return None if source is None else (source, None, lambda: True)


# --------------------------------------------------------------------------- loading


def _builtin_dir() -> Path:
    return data_dir("rules")


def load_rules(extra_dirs: Iterable[str | Path] = ()) -> RuleSet:
    """The built-in rules plus the rules in ``extra_dirs`` (each searched recursively).

    A user rule may replace a built-in id only with ``override = true``. Raises
    RuleSetError listing every problem.
    """
    extras = tuple(Path(d) for d in extra_dirs)
    if not extras:
        return _builtin_rules()
    # the CLI checks a user's rules before any work and explains with them after: the same
    # files (by content) are parsed once
    key = tuple(_rule_texts(directory) for directory in extras)
    if _LAST_LOADED and _LAST_LOADED[0][0] == key:
        return _LAST_LOADED[0][1]
    rules = _load((_builtin_dir(), *extras))
    _LAST_LOADED[:] = [(key, rules)]
    return rules


_LAST_LOADED: list[tuple[tuple[Any, ...], RuleSet]] = []  # user rules last loaded, by content


def _rule_texts(directory: Path) -> tuple[str, tuple[tuple[str, bytes], ...] | None]:
    if not directory.is_dir():
        return str(directory), None
    return str(directory), tuple((str(p), p.read_bytes()) for p in rule_files(directory))


@cache
def _builtin_rules() -> RuleSet:
    return _load((_builtin_dir(),))


def rule_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.toml") if p.is_file())


def _load(directories: Sequence[Path]) -> RuleSet:
    problems: list[RuleProblem] = []
    by_id: dict[str, Rule] = {}
    for index, directory in enumerate(directories):
        builtin = index == 0
        if not directory.is_dir():
            problems.append(RuleProblem(str(directory), None, None, "not a directory"))
            continue
        for path in rule_files(directory):
            rule = _load_file(path, problems)
            if rule is None:
                continue
            existing = by_id.get(rule.id)
            if existing is not None:
                line = _key_line(path.read_text(encoding="utf-8"), "id")
                if builtin or not rule.override or existing.path == rule.path:
                    problems.append(
                        RuleProblem(
                            rule.path,
                            line,
                            1,
                            f"duplicate rule id {rule.id} (also in {existing.path})"
                            + ("" if builtin else "; set override = true to replace it"),
                        )
                    )
                    continue
            elif rule.override:
                line = _key_line(path.read_text(encoding="utf-8"), "override")
                problems.append(
                    RuleProblem(rule.path, line, 1, f"override = true but no rule {rule.id}")
                )
                continue
            by_id[rule.id] = rule
    rules = list(by_id.values())
    _check_set(rules, problems)
    if problems:
        raise RuleSetError(problems)
    rules.sort(key=lambda r: (not r.primary, -r.priority, r.id))
    return RuleSet(tuple(rules))


def _check_set(rules: list[Rule], problems: list[RuleProblem]) -> None:
    fallbacks = [r for r in rules if r.fallback]  # in load order: built-ins first
    if not fallbacks:
        problems.append(
            RuleProblem("<rules>", None, None, "no fallback rule (fallback = true) was loaded")
        )
    for extra in fallbacks[1:]:
        line = _key_line(Path(extra.path).read_text(encoding="utf-8"), "fallback")
        problems.append(
            RuleProblem(
                extra.path, line, 1, f"a second fallback rule (the first is {fallbacks[0].id})"
            )
        )
    seen: dict[int, Rule] = {}
    for rule in sorted(rules, key=lambda r: r.path):
        if not rule.primary or rule.fallback:
            continue
        other = seen.get(rule.priority)
        if other is not None:
            line = _key_line(Path(rule.path).read_text(encoding="utf-8"), "priority")
            problems.append(
                RuleProblem(
                    rule.path,
                    line,
                    1,
                    f"priority {rule.priority} is also {other.id}'s: primary candidates "
                    "need distinct priorities",
                )
            )
        else:
            seen[rule.priority] = rule


def _key_line(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return None


def _value_origin(text: str, key: str) -> tuple[int, int, bool]:
    """Where the string value of top-level ``key`` starts: (line, column, multiline).

    For a multi-line string whose delimiter ends the line, the value starts on the next
    line at column 1 (TOML trims that first newline).
    """
    pattern = re.compile(rf"^(\s*{re.escape(key)}\s*=\s*)(\"\"\"|'''|\"|')")
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        match = pattern.match(line)
        if not match:
            continue
        delimiter = match.group(2)
        column = len(match.group(1)) + len(delimiter) + 1
        multiline = len(delimiter) == 3
        if multiline and column > len(line):
            return number + 1, 1, True
        return number, column, multiline
    return 1, 1, False


def _position(text: str, key: str, line: int, column: int) -> tuple[int, int]:
    """Map a 1-based position inside the value of ``key`` to the file."""
    start_line, start_column, _ = _value_origin(text, key)
    if line == 1:
        return start_line, start_column + column - 1
    return start_line + line - 1, column


def _load_file(path: Path, problems: list[RuleProblem]) -> Rule | None:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(RuleProblem(name, None, None, f"cannot read: {exc}"))
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_AT.search(str(exc))
        line, column = (int(found.group(1)), int(found.group(2))) if found else (None, None)
        message = _TOML_AT.sub("", str(exc)).strip()
        problems.append(RuleProblem(name, line, column, f"TOML syntax error: {message}"))
        return None
    before = len(problems)

    def problem(key: str | None, message: str) -> None:
        line = _key_line(text, key) if key else None
        problems.append(RuleProblem(name, line or 1, 1, message))

    for key in data:
        if key not in REQUIRED and key not in OPTIONAL:
            problem(key, f"unknown key {key!r} (allowed: {', '.join(REQUIRED + OPTIONAL)})")
    for key in REQUIRED:
        if key not in data:
            problem(None, f"missing key {key!r}")
    fallback = data.get("fallback", False) is True
    if not fallback and "when" not in data:
        problem(None, "missing key 'when'")
    if not fallback and "priority" not in data:
        problem(None, "missing key 'priority'")
    for key in ("id", "name", "cause", "severity", "when", *TEXT_KEYS):
        if key in data and not isinstance(data[key], str):
            problem(key, f"{key!r} must be a string")
    for key in ("override", "fallback"):
        if key in data and not isinstance(data[key], bool):
            problem(key, f"{key!r} must be true or false")
    rule_id = data.get("id") if isinstance(data.get("id"), str) else None
    if rule_id is not None:
        match = _ID.match(rule_id)
        if match is None:
            problem("id", f"id {rule_id!r} must be an area prefix and 3 digits, e.g. CG001")
        elif not path.name.startswith(rule_id + "_"):
            problem("id", f"file name must start with '{rule_id}_' (id {rule_id})")
    rule_name = data.get("name")
    if isinstance(rule_name, str) and not _NAME.match(rule_name):
        problem("name", f"name {rule_name!r} must be dotted lower_case, e.g. memcg.limit_hit")
    cause: Cause | None = None
    if isinstance(data.get("cause"), str):
        try:
            cause = Cause(data["cause"])
        except ValueError:
            problem(
                "cause", f"unknown cause {data['cause']!r} ({', '.join(c.value for c in Cause)})"
            )
    severity: Severity | None = None
    if isinstance(data.get("severity"), str):
        try:
            severity = Severity(data["severity"])
        except ValueError:
            problem(
                "severity",
                f"unknown severity {data['severity']!r} ({', '.join(s.value for s in Severity)})",
            )
    priority = data.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 1000:
        problem("priority", "priority must be an integer from 0 to 1000")
        priority = 0
    references = data.get("references", [])
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        problem("references", "references must be a list of strings")
        references = []
    if fallback and cause is not None and cause is not Cause.UNKNOWN:
        problem("fallback", "the fallback rule's cause must be 'unknown'")
    if fallback and "when" in data:
        problem("when", "the fallback rule has no 'when': it applies when no primary rule fires")

    condition: Condition | None = None
    if isinstance(data.get("when"), str):
        try:
            condition = compile_condition(data["when"], {n: s.unit for n, s in FACTS.items()})
        except ConditionError as exc:
            line, column = _position(text, "when", exc.line, exc.column)
            problems.append(RuleProblem(name, line, column, f"in 'when': {exc.message}"))
    text_facts: list[str] = []
    for key in TEXT_KEYS:
        source = data.get(key)
        if not isinstance(source, str):
            continue
        for fact_name in _template_names(source, key, text, name, problems):
            if fact_name not in text_facts:
                text_facts.append(fact_name)

    if len(problems) > before or rule_id is None or cause is None or severity is None:
        return None
    return Rule(
        id=rule_id,
        name=str(data["name"]),
        cause=cause,
        severity=severity,
        priority=priority,
        condition=condition,
        title=data["title"].strip(),
        explanation=data["explanation"].strip(),
        remedy=data["remedy"].strip(),
        references=tuple(references),
        path=name,
        override=data.get("override", False) is True,
        fallback=fallback,
        text_facts=tuple(text_facts),
    )


def _template_names(
    source: str, key: str, text: str, path: str, problems: list[RuleProblem]
) -> list[str]:
    """The facts a text template cites; syntax errors and unknown names become problems."""
    if "{" not in source:  # plain text (see _render): nothing to cite, nothing to compile
        return []
    env = _environment()
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        line, _ = _position(text, key, exc.lineno or 1, 1)
        problems.append(
            RuleProblem(path, line, 1, f"in {key!r}: Jinja syntax error: {exc.message}")
        )
        return []
    names = sorted(meta.find_undeclared_variables(tree))
    unknown = [n for n in names if n not in FACTS]
    for unknown_name in unknown:
        line, column = _name_position(tree, unknown_name)
        line, column = _position(text, key, line, column)
        problems.append(
            RuleProblem(path, line, column, f"in {key!r}: unknown fact {unknown_name!r}")
        )
    return [n for n in names if n in FACTS]


def _name_position(tree: nodes.Template, wanted: str) -> tuple[int, int]:
    for node in tree.find_all(nodes.Name):
        if node.name == wanted:
            return node.lineno, 1
    return 1, 1


@cache
def _compiled(source: str) -> Template:
    """A rule text's template, compiled on first use (or read from the cache)."""
    name = hashlib.sha256(source.encode()).hexdigest()
    _SOURCES[name] = source
    return _environment().get_template(name)


def prepare_texts(rules: RuleSet) -> None:
    """Compile every text of ``rules`` now, so processes forked later inherit them; from
    the cache this takes ~15 ms, where compiling the texts that fire took each explaining
    process ~60 ms."""
    for rule in rules.rules:
        for source in (rule.title, rule.explanation, rule.remedy):
            if "{" in source:
                _compiled(source)


# --------------------------------------------------------------------------- evaluation


def _render(source: str, values: Mapping[str, Any]) -> str:
    """Render a rule text; line breaks inside a paragraph become spaces (the TOML source is
    wrapped for reading, the output is reflowed by whoever shows it)."""
    if "{" not in source:  # nothing to fill in (a third of the texts)
        return _reflowed(source)
    try:
        text = _compiled(source).render(**values).strip()
    except (TemplateError, TypeError, ValueError) as exc:
        # a rule text that fails on an odd value must not stop the analysis of the log
        return f"(this text could not be rendered: {exc})"
    return _reflow(text)


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def _reflow(text: str) -> str:
    return "\n\n".join(" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(text))


@cache
def _reflowed(source: str) -> str:
    return _reflow(source.strip())


def _finding(rule: Rule, ctx: FactContext, primary: bool) -> Finding:
    values = {name: value_of(ctx, name) for name in rule.facts}
    facts = tuple(
        FactValue(
            name=name,
            value=values[name],
            unit=FACTS[name].unit,
            evidence=fact_evidence(ctx, name),
        )
        for name in rule.facts
    )
    return Finding(
        rule_id=rule.id,
        name=rule.name,
        cause=rule.cause,
        primary=primary,
        severity=rule.severity,
        title=_render(rule.title, values),
        explanation=_render(rule.explanation, values),
        remedy=_render(rule.remedy, values),
        references=rule.references,
        facts=facts,
    )


def firing_rules(ruleset: RuleSet, ctx: FactContext) -> list[Rule]:
    """The rules whose condition is true, in ruleset order (primary candidates first)."""
    fired: list[Rule] = []
    for rule in ruleset.rules:
        if rule.condition is None:
            continue
        values = {name: value_of(ctx, name) for name in rule.condition.facts}
        if rule.condition.evaluate(values):
            fired.append(rule)
    return fired


_SEVERITY_ORDER = {s: i for i, s in enumerate(Severity)}


def evaluate(ruleset: RuleSet, ctx: FactContext) -> tuple[Finding, ...]:
    """Every firing rule's finding; exactly one is primary and comes first."""
    fired = firing_rules(ruleset, ctx)
    candidates = [r for r in fired if r.primary]
    primary_rule = max(candidates, key=lambda r: r.priority) if candidates else ruleset.fallback
    rest = sorted(
        (r for r in fired if r is not primary_rule),
        key=lambda r: (_SEVERITY_ORDER[r.severity], -r.priority, r.id),
    )
    return (_finding(primary_rule, ctx, True), *(_finding(r, ctx, False) for r in rest))


def explain_event(
    event: OomEvent,
    replay: Replay,
    log: LogEvents | Sequence[OomEvent] = (),
    ruleset: RuleSet | None = None,
) -> tuple[Finding, ...]:
    """The findings for one event; ``log``: the events of the logs it came from (``event``
    among them or not), best built once with ``LogEvents.of`` for all the events."""
    if not isinstance(log, LogEvents):
        log = LogEvents.of(log)
    ctx = FactContext(event=event, replay=replay, log=log)
    return evaluate(ruleset if ruleset is not None else load_rules(), ctx)
