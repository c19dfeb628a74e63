"""Rule loading (every problem with file:line:column, all at once), user rule directories,
evaluation (exactly one primary finding, evidence), JSON and the ``rules`` CLI."""

from __future__ import annotations

import random
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oomlens.api import analyze_text
from oomlens.cli import app
from oomlens.engine import RuleSetError, evaluate, explain_event, load_rules
from oomlens.facts import FACTS, FactContext, LogEvents, value_of
from oomlens.model import PRIMARY_CAUSES, Cause, Replay
from oomlens.serialize import findings_to_json
from oomlens.synth import ERAS, KINDS, random_report, render

GOOD = """\
id = "{id}"
name = "site.{slug}"
cause = "{cause}"
severity = "low"
priority = {priority}
when = "{when}"
title = "Site rule {id}"
explanation = \"\"\"
The victim was {{{{ victim_comm | known }}}}.
\"\"\"
remedy = "Ask the site team."
references = []
"""

MEMCG_LOG = """\
[  500.000001] worker invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
[  500.000002] CPU: 1 PID: 2101 Comm: worker Not tainted 5.15.0-107-generic #117-Ubuntu
[  500.000003] memory: usage 524288kB, limit 524288kB, failcnt 4187
[  500.000004] swap: usage 0kB, limit 0kB, failcnt 0
[  500.000005] Memory cgroup stats for /system.slice/worker.service:
[  500.000006] anon 520000000
[  500.000007] file 1200000
[  500.000008] Tasks state (memory values in pages):
[  500.000009] [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name
[  500.000010] [   2100]  1000  2100     5600      300         8192        0             0 sh
[  500.000011] [   2101]  1000  2101   257000   126000      1007616        0             0 worker
[  500.000012] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,\
oom_memcg=/system.slice/worker.service,task_memcg=/system.slice/worker.service,task=worker,\
pid=2101,uid=1000
[  500.000013] Memory cgroup out of memory: Killed process 2101 (worker) total-vm:1028000kB, \
anon-rss:503976kB, file-rss:24kB, shmem-rss:0kB, UID:1000 pgtables:984kB oom_score_adj:0
"""


def write_rule(directory: Path, area: str, filename: str, text: str) -> Path:
    path = directory / area / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def good_rule(
    rule_id: str,
    *,
    cause: str = "kill_loop",
    priority: int = 5,
    when: str = "manual",
    slug: str = "custom",
) -> str:
    return GOOD.format(id=rule_id, slug=slug, cause=cause, priority=priority, when=when)


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(RuleSetError) as caught:
        load_rules([directory])
    return [str(p) for p in caught.value.problems]


# ----------------------------------------------------------------------------- built-ins


def test_builtin_catalogue_is_valid_and_covers_every_cause() -> None:
    ruleset = load_rules()
    assert len(ruleset.rules) >= 25
    ids = [r.id for r in ruleset.rules]
    assert len(ids) == len(set(ids))
    assert {r.cause for r in ruleset.rules} == set(Cause)
    assert ruleset.fallback.cause is Cause.UNKNOWN
    assert load_rules() is ruleset  # the built-in set is loaded once
    for rule in ruleset.rules:
        assert Path(rule.path).name.startswith(rule.id + "_")
        assert rule.primary == (rule.cause in PRIMARY_CAUSES)
        assert rule.remedy and rule.references, rule.id
        for name in rule.facts:
            assert name in FACTS


def test_primary_candidates_have_distinct_priorities() -> None:
    primaries = [r for r in load_rules().rules if r.primary and not r.fallback]
    assert len({r.priority for r in primaries}) == len(primaries)


def test_every_fact_has_a_unit_and_a_docstring() -> None:
    for spec in FACTS.values():
        assert spec.doc, spec.name
        assert spec.unit in {"kib", "ratio", "s", "count", "bool", "str"}


# ----------------------------------------------------------------------------- loading errors


def test_user_rule_is_added_and_fires(tmp_path: Path) -> None:
    write_rule(
        tmp_path,
        "site",
        "SITE001_worker.toml",
        good_rule("SITE001", when='victim_comm == \\"worker\\"'),
    )
    ruleset = load_rules([tmp_path])
    assert ruleset.get("SITE001") is not None
    event = analyze_text(MEMCG_LOG).events[0]
    findings = explain_event(event, Replay(steps=()), (), ruleset)
    site = next(f for f in findings if f.rule_id == "SITE001")
    assert site.explanation == "The victim was worker."
    assert not site.primary


def test_duplicate_builtin_id_needs_override(tmp_path: Path) -> None:
    path = write_rule(
        tmp_path, "memcg", "CG001_mine.toml", good_rule("CG001", cause="cgroup_limit", priority=990)
    )
    [problem] = problems_of(tmp_path)
    assert problem.startswith(f"{path}:1:1: duplicate rule id CG001")
    assert "override = true" in problem
    path.write_text(good_rule("CG001", cause="cgroup_limit", priority=990) + "override = true\n")
    ruleset = load_rules([tmp_path])
    rule = ruleset.get("CG001")
    assert rule is not None and rule.path == str(path)


def test_override_of_a_missing_rule_is_an_error(tmp_path: Path) -> None:
    path = write_rule(tmp_path, "x", "XX001_new.toml", good_rule("XX001") + "override = true\n")
    [problem] = problems_of(tmp_path)
    assert problem.startswith(f"{path}:13:1: override = true but no rule XX001")


def test_every_problem_is_reported_with_file_line_and_column(tmp_path: Path) -> None:
    toml_error = write_rule(tmp_path, "a", "AA001_broken.toml", 'id = "AA001"\nname = = "x"\n')
    unknown_key = write_rule(
        tmp_path, "a", "AA002_key.toml", good_rule("AA002") + 'colour = "red"\n'
    )
    bad_enum = write_rule(
        tmp_path,
        "a",
        "AA003_enum.toml",
        good_rule("AA003").replace('"kill_loop"', '"cosmic_rays"').replace('"low"', '"urgent"'),
    )
    bad_when = write_rule(
        tmp_path, "a", "AA004_when.toml", good_rule("AA004", when="swap_total_kib > 80%")
    )
    unknown_fact = write_rule(
        tmp_path, "a", "AA005_fact.toml", good_rule("AA005", when="manual and nosuch_fact")
    )
    multi = write_rule(
        tmp_path,
        "a",
        "AA006_multi.toml",
        good_rule("AA006").replace(
            'when = "manual"', 'when = """\nmanual and\n    order >> 2\n"""'
        ),
    )
    jinja = write_rule(
        tmp_path,
        "a",
        "AA007_jinja.toml",
        good_rule("AA007").replace(
            "The victim was {{ victim_comm | known }}.",
            "line one\nThe victim was {{ victim_comm | known }.",
        ),
    )
    jinja_name = write_rule(
        tmp_path,
        "a",
        "AA008_name.toml",
        good_rule("AA008").replace(
            "The victim was {{ victim_comm | known }}.", "The victim was {{ victim_name }}."
        ),
    )
    bad_id = write_rule(tmp_path, "a", "AA009_id.toml", good_rule("aa9"))
    missing = write_rule(
        tmp_path,
        "a",
        "AA010_missing.toml",
        good_rule("AA010").replace('remedy = "Ask the site team."\n', ""),
    )

    found = problems_of(tmp_path)
    text = "\n".join(found)

    def expect(path: Path, position: str, fragment: str) -> None:
        wanted = f"{path}:{position}: "
        assert any(p.startswith(wanted) and fragment in p for p in found), (wanted, fragment, text)

    expect(toml_error, "2:8", "TOML syntax error")
    expect(unknown_key, "13:1", "unknown key 'colour'")
    expect(bad_enum, "3:1", "unknown cause 'cosmic_rays'")
    expect(bad_enum, "4:1", "unknown severity 'urgent'")
    expect(bad_when, "6:26", "cannot compare fact 'swap_total_kib' (memory) with ratio")
    expect(unknown_fact, "6:20", "unknown fact 'nosuch_fact'")
    expect(multi, "8:12", "unexpected '>'")
    expect(jinja, "10:1", "Jinja syntax error")
    expect(jinja_name, "9:1", "unknown fact 'victim_name'")
    expect(bad_id, "1:1", "must be an area prefix and 3 digits")
    expect(missing, "1:1", "missing key 'remedy'")
    assert len(found) == 11, text


def test_duplicate_ids_and_priorities_inside_one_directory(tmp_path: Path) -> None:
    write_rule(tmp_path, "b", "BB001_one.toml", good_rule("BB001", cause="unknown", priority=7))
    second = write_rule(tmp_path, "c", "BB001_two.toml", good_rule("BB001", slug="two"))
    third = write_rule(
        tmp_path, "b", "BB002_three.toml", good_rule("BB002", cause="unknown", priority=7)
    )
    found = problems_of(tmp_path)
    assert any(p.startswith(f"{second}:1:1: duplicate rule id BB001") for p in found), found
    assert any(p.startswith(f"{third}:5:1: priority 7 is also BB001's") for p in found), found


def test_a_second_fallback_rule_is_an_error(tmp_path: Path) -> None:
    text = good_rule("ZZ001", cause="unknown").replace("priority = 5\n", "")
    text = text.replace('when = "manual"\n', "fallback = true\n")
    path = write_rule(tmp_path, "z", "ZZ001_fallback.toml", text)
    [problem] = problems_of(tmp_path)
    assert problem.startswith(f"{path}:5:1: a second fallback rule (the first is GEN000)")


def test_rule_check_cli_prints_every_problem_and_exits_2(tmp_path: Path) -> None:
    write_rule(tmp_path, "a", "AA004_when.toml", good_rule("AA004", when="swap_total_kib > 80%"))
    write_rule(tmp_path, "a", "AA005_fact.toml", good_rule("AA005", when="nosuch"))
    result = CliRunner().invoke(app, ["rules", "check", "--rules", str(tmp_path)])
    assert result.exit_code == 2
    assert "AA004_when.toml:6:26:" in result.output
    assert "AA005_fact.toml:6:9:" in result.output
    assert "2 problems in rules" in result.output


def test_rules_cli_check_list_explain_facts() -> None:
    runner = CliRunner()
    check = runner.invoke(app, ["rules", "check"])
    assert check.exit_code == 0 and "rules OK" in check.output
    listing = runner.invoke(app, ["rules", "list"])
    assert listing.exit_code == 0
    assert "CG001" in listing.output and "fallback" in listing.output
    explained = runner.invoke(app, ["rules", "explain", "CG002"])
    assert explained.exit_code == 0
    assert "limit_is_ancestor [bool]" in explained.output
    assert runner.invoke(app, ["rules", "explain", "ZZ999"]).exit_code == 2
    facts = runner.invoke(app, ["rules", "facts"])
    assert facts.exit_code == 0
    assert "memcg_usage_kib  [kib]" in facts.output


# ----------------------------------------------------------------------------- evaluation


def test_memcg_event_has_one_primary_with_evidence() -> None:
    event = analyze_text(MEMCG_LOG).events[0]
    findings = evaluate(load_rules(), FactContext(event=event, replay=Replay(steps=())))
    assert [f.primary for f in findings].count(True) == 1
    primary = findings[0]
    assert primary.primary and primary.cause is Cause.CGROUP_LIMIT
    assert primary.rule_id == "CG004"  # the unit-naming rule outranks the generic one
    assert "worker.service" in primary.title
    usage = next(v for v in primary.facts if v.name == "memcg_usage_kib")
    assert usage.value == 524288 and usage.unit == "kib"
    assert [e.line for e in usage.evidence] == [3, 4, 12, 13]
    contributing = {f.rule_id for f in findings if not f.primary}
    assert {"CG001", "SW003", "PC002"} <= contributing


def test_fallback_when_nothing_primary_fires() -> None:
    log = (
        "[  9.000000] Out of memory: Killed process 77 (app) total-vm:100kB, anon-rss:50kB,"
        " file-rss:0kB, shmem-rss:0kB\n"
    )
    event = analyze_text(log).events[0]
    ruleset = load_rules()
    findings = explain_event(event, Replay(steps=()), (), ruleset)
    assert findings[0].primary and findings[0].cause is Cause.UNKNOWN


def test_findings_to_json() -> None:
    event = analyze_text(MEMCG_LOG).events[0]
    document = findings_to_json(explain_event(event, Replay(steps=())))
    first = document[0]
    assert set(first) == {
        "id",
        "name",
        "cause",
        "primary",
        "severity",
        "title",
        "explanation",
        "remedy",
        "references",
        "evidence",
    }
    assert first["primary"] is True
    assert sum(d["primary"] for d in document) == 1
    fact = first["evidence"][0]
    assert set(fact) == {"fact", "value", "unit", "lines"}
    assert all(set(line) == {"path", "line", "text"} for line in fact["lines"])


def test_docs_fact_table_is_current() -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "rules.md").read_text()
    table = CliRunner().invoke(app, ["rules", "facts", "--markdown"]).output
    assert table.startswith("| fact | unit | meaning |")
    assert docs.endswith(table), "regenerate the table: oomlens rules facts --markdown"


# ----------------------------------------------------------------------------- facts


def context(log: str, replay: Replay | None = None) -> FactContext:
    events = analyze_text(log).events
    return FactContext(
        event=events[0], replay=replay or Replay(steps=()), log=LogEvents.of(events[1:])
    )


def memcg_log(limit_path: str, task_path: str) -> str:
    return (
        "[  1.000000] app invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0,"
        " oom_score_adj=0\n"
        "[  1.000001] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,"
        f"mems_allowed=0,oom_memcg={limit_path},task_memcg={task_path},task=app,pid=42,uid=0\n"
        "[  1.000002] Memory cgroup out of memory: Killed process 42 (app) total-vm:9000kB,"
        " anon-rss:4000kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:0\n"
    )


def test_kubernetes_names_from_a_systemd_driver_path() -> None:
    pod = (
        "/kubepods.slice/kubepods-besteffort.slice/"
        "kubepods-besteffort-pod9eb0e64e_6e1a_43e4_b372_2603a3cc2941.slice"
    )
    cid = "663f6287c450aea2f849b82a30d1409059497b5de62846a286e55971d61e2650"
    ctx = context(memcg_log(pod, f"{pod}/cri-containerd-{cid}.scope"))
    assert value_of(ctx, "k8s_pod_uid") == "9eb0e64e-6e1a-43e4-b372-2603a3cc2941"
    assert value_of(ctx, "k8s_qos_class") == "besteffort"
    assert value_of(ctx, "container_id") == cid
    assert value_of(ctx, "systemd_unit") == f"cri-containerd-{cid}.scope"
    assert value_of(ctx, "limit_is_ancestor") is True


def test_cgroupfs_driver_guaranteed_pod_and_own_limit() -> None:
    pod = "/kubepods/pod1788d98a-0700-426a-8701-2312e4cc2163"
    ctx = context(memcg_log(pod, pod))
    assert value_of(ctx, "k8s_qos_class") == "guaranteed"
    assert value_of(ctx, "limit_is_ancestor") is False
    assert value_of(ctx, "systemd_unit") is None
    assert value_of(ctx, "is_memcg") is True


def test_sibling_prefix_is_not_an_ancestor() -> None:
    ctx = context(memcg_log("/app", "/app2/worker"))
    assert value_of(ctx, "limit_is_ancestor") is False


def test_swap_allowance_from_totalpages_needs_a_matching_score() -> None:
    log = (
        "[  1.000000] app invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=0\n"
        "[  1.000001] Task in /box killed as a result of limit of /box\n"
        "[  1.000002] memory: usage 40960kB, limit 40960kB, failcnt 7\n"
        "[  1.000003] [ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name\n"
        "[  1.000004] [   42]     0    42    20000    10000      30        0             0 app\n"
        "[  1.000005] Memory cgroup out of memory: Kill process 42 (app) score 976"
        " or sacrifice child\n"
        "[  1.000006] Killed process 42 (app) total-vm:80000kB, anon-rss:40000kB, file-rss:0kB\n"
    )
    unconfirmed = context(log, Replay(steps=(), totalpages=10240, recomputed_score=500))
    assert value_of(unconfirmed, "memcg_swap_allowance_kib") is None
    confirmed = context(log, Replay(steps=(), totalpages=10240, recomputed_score=976))
    assert value_of(confirmed, "memcg_swap_allowance_kib") == 0  # page size from the kill line
    assert value_of(confirmed, "victim_share_of_memcg") == pytest.approx(40000 / 40960)


def test_unknown_evidence_is_none_not_zero() -> None:
    ctx = context(memcg_log("/a", "/a"))
    for name in ("free_kib", "ram_kib", "swap_total_kib", "task_count", "free_blocks_at_order"):
        assert value_of(ctx, name) is None, name


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("kind", KINDS)
def test_synthetic_reports_of_every_era_and_kind_get_one_primary(era: str, kind: str) -> None:
    ruleset = load_rules()
    for seed in range(3):
        report = random_report(random.Random(seed), era=era, kind=kind)
        text = "\n".join(
            render(
                report.records(),
                "dmesg",
                start_uptime=50.0 + seed,
                wallclock=datetime(2024, 3, 1, 12, tzinfo=UTC),
            )
        )
        events = analyze_text(text).events
        assert events, (era, kind, seed)
        for event in events:
            findings = explain_event(event, Replay(steps=()), events, ruleset)
            assert [f.primary for f in findings].count(True) == 1
            if kind == "memcg":
                assert findings[0].cause is Cause.CGROUP_LIMIT, (era, seed, findings[0].rule_id)
            if kind == "manual":
                assert findings[0].cause is Cause.MANUAL_TRIGGER, (era, seed)


def test_a_text_failing_on_an_odd_value_does_not_stop_the_analysis(tmp_path: Path) -> None:
    text = good_rule("SITE002", when="is_memcg").replace(
        "The victim was {{ victim_comm | known }}.", "Size {{ victim_comm | kib }}."
    )
    write_rule(tmp_path, "site", "SITE002_odd.toml", text)
    event = analyze_text(MEMCG_LOG).events[0]
    findings = explain_event(event, Replay(steps=()), (), load_rules([tmp_path]))
    site = next(f for f in findings if f.rule_id == "SITE002")
    assert site.explanation.startswith("(this text could not be rendered:")


@pytest.mark.parametrize(
    "asks", ['{% include "base.txt" %}', '{% import "macros" as m %}', '{% extends "x" %}']
)
def test_a_text_asking_for_another_template_gets_the_could_not_render_text(asks: str) -> None:
    """Rule texts are loaded by the digest of their source; any other name is not found,
    and the analysis goes on."""
    from oomlens.engine import _render

    rendered = _render(f"{asks} The victim was {{{{ victim_comm }}}}.", {"victim_comm": "x"})
    assert rendered.startswith("(this text could not be rendered:")


def test_texts_with_nothing_to_fill_in_read_as_jinja_renders_them() -> None:
    """Texts without ``{`` skip the template engine; the result must be the same."""
    from oomlens.engine import _compiled, _reflow, _render

    ruleset = load_rules()
    texts = [
        text
        for rule in (*ruleset.rules, ruleset.fallback)
        if rule is not None
        for text in (rule.title, rule.explanation, rule.remedy)
        if "{" not in text
    ]
    assert len(texts) > 10
    for text in texts:
        assert _render(text, {}) == _reflow(_compiled(text).render().strip())


def test_the_same_user_rules_are_parsed_once_and_a_changed_file_again(tmp_path: Path) -> None:
    rule = write_rule(tmp_path, "site", "SITE001_site.toml", good_rule("SITE001"))
    first = load_rules([tmp_path])
    assert load_rules([tmp_path]) is first  # checked by the CLI, then used to explain
    rule.write_text(textwrap.dedent(good_rule("SITE001", priority=6)), encoding="utf-8")
    changed = load_rules([tmp_path])
    assert changed is not first
    assert next(r for r in changed.rules if r.id == "SITE001").priority == 6
