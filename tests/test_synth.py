"""The synthetic report generator writes the kernel's documented formats (kernel-oom-format.md).

The fixed reports below reuse the numbers of the doc's §4 templates, so the expected lines are
the doc's own lines (or derived from its printf formats by hand), not output pasted back.
"""

from __future__ import annotations

import gzip
import hashlib
import random
import re
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from oomlens.synth import (
    ENVELOPES,
    ERAS,
    KINDS,
    Record,
    SynthReport,
    SynthTask,
    SynthZone,
    noise_lines,
    random_report,
    render,
    select_victim,
    write_log,
)

# managed pages add up to 1_000_000, so scores are easy to check by hand
ZONES = (
    SynthZone(name="DMA", present_pages=3999, managed_pages=3840),
    SynthZone(name="DMA32", present_pages=720_000, managed_pages=700_000),
    SynthZone(name="Normal", present_pages=300_000, managed_pages=296_160),
)
JOURNAL = SynthTask(
    pid=612,
    uid=0,
    tgid=612,
    total_vm_pages=72351,
    rss_anon_pages=1600,
    rss_file_pages=243,
    rss_shmem_pages=0,
    pgtables_bytes=184320,
    swapents=0,
    oom_score_adj=-250,
    name="systemd-journal",
    cpu=0,
)
# §4 "5.4 - 6.6, global": rss 940512 = anon 3759200kB/4 + file 2848kB/4; pgtables 7452kB
STRESS = SynthTask(
    pid=4312,
    uid=1000,
    tgid=4312,
    total_vm_pages=1012345,
    rss_anon_pages=939800,
    rss_file_pages=712,
    rss_shmem_pages=0,
    pgtables_bytes=7630848,
    swapents=0,
    oom_score_adj=0,
    name="stress",
    cpu=1,
)
# (rss 940512 + 7630848/4096 = 1863 page-table pages) * 1000 // 1_000_000 totalpages
STRESS_SCORE = 942

RELEASES = {
    "2.6.32-rhel6": "2.6.32-642.el6.x86_64",
    "3.10-rhel7": "3.10.0-1160.el7.x86_64",
    "4.9": "4.9.0-13-amd64",
    "4.19": "4.19.0-21-amd64",
    "5.10": "5.10.0-28-amd64",
    "5.15": "5.15.0-91-generic",
    "6.1": "6.1.0-18-amd64",
    "6.8": "6.8.0-45-generic",
}
VERSIONS = {"5.15": "#101-Ubuntu", "6.8": "#45-Ubuntu"}
GFP = {
    "2.6.32-rhel6": (0x280DA, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
    "3.10-rhel7": (0x280DA, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
    "4.9": (0x24280CA, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
    "4.19": (0x6280CA, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
    "5.10": (0x100DCA, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO"),
    "5.15": (0x1100CCA, "GFP_HIGHUSER_MOVABLE"),
    "6.1": (0x140DCA, "GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO"),
    "6.8": (0x140CCA, "GFP_HIGHUSER_MOVABLE|__GFP_COMP"),
}
HARDWARE = "QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.15.0-1 04/01/2014"
SESSION = "/user.slice/user-1000.slice/session-3.scope"


def global_report(era: str, **changes: object) -> SynthReport:
    mask, names = GFP[era]
    report = SynthReport(
        era=era,
        kind="oom_kill",
        kernel_release=RELEASES[era],
        kernel_version=VERSIONS.get(era, "#1"),
        trigger_comm="stress",
        trigger_pid=4312,
        gfp_mask=mask,
        gfp_names=names,
        order=0,
        oom_score_adj=0,
        cpu=1,
        ncpus=2,
        hardware=HARDWARE,
        tasks=(JOURNAL, STRESS),
        victim_pid=4312,
        zones=ZONES,
        memcg_victim_path=SESSION if era in ("5.10", "5.15", "6.1", "6.8") else None,
        reaped=True,
        detail_seed=7,
    )
    return replace(report, **changes)  # type: ignore[arg-type]


def test_every_era_and_kind_renders() -> None:
    rng = random.Random(1)
    for era in ERAS:
        for kind in KINDS:
            report = random_report(rng, era=era, kind=kind)
            lines = report.lines()
            assert lines and all("\n" not in line for line in lines)
            header = report.records()[report.header_index].text
            assert ("invoked oom-killer" in header) != (kind == "allocation_failure")


# --------------------------------------------------------------------- exact lines per era

HEADERS = {
    "2.6.32-rhel6": "stress invoked oom-killer: gfp_mask=0x280da, order=0, oom_adj=0, "
    "oom_score_adj=0",
    "3.10-rhel7": "stress invoked oom-killer: gfp_mask=0x280da, order=0, oom_score_adj=0",
    "4.9": "stress invoked oom-killer: gfp_mask=0x24280ca(GFP_HIGHUSER_MOVABLE|__GFP_ZERO), "
    "nodemask=0, order=0, oom_score_adj=0",
    "4.19": "stress invoked oom-killer: gfp_mask=0x6280ca(GFP_HIGHUSER_MOVABLE|__GFP_ZERO), "
    "nodemask=(null), order=0, oom_score_adj=0",
    "5.10": "stress invoked oom-killer: gfp_mask=0x100dca(GFP_HIGHUSER_MOVABLE|__GFP_ZERO), "
    "order=0, oom_score_adj=0",
    "5.15": "stress invoked oom-killer: gfp_mask=0x1100cca(GFP_HIGHUSER_MOVABLE), order=0, "
    "oom_score_adj=0",
    "6.1": "stress invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|"
    "__GFP_ZERO), order=0, oom_score_adj=0",
    "6.8": "stress invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), "
    "order=0, oom_score_adj=0",
}
TASK_LINES = {
    "2.6.32-rhel6": "Pid: 4312, comm: stress Not tainted 2.6.32-642.el6.x86_64 #1",
    "3.10-rhel7": "CPU: 1 PID: 4312 Comm: stress Not tainted 3.10.0-1160.el7.x86_64 #1",
    "4.9": "CPU: 1 PID: 4312 Comm: stress Not tainted 4.9.0-13-amd64 #1",
    "4.19": "CPU: 1 PID: 4312 Comm: stress Not tainted 4.19.0-21-amd64 #1",
    "5.10": "CPU: 1 PID: 4312 Comm: stress Not tainted 5.10.0-28-amd64 #1",
    "5.15": "CPU: 1 PID: 4312 Comm: stress Not tainted 5.15.0-91-generic #101-Ubuntu",
    "6.1": "CPU: 1 PID: 4312 Comm: stress Not tainted 6.1.0-18-amd64 #1",
    "6.8": "CPU: 1 PID: 4312 Comm: stress Not tainted 6.8.0-45-generic #45-Ubuntu",
}
OLD_HEADER = "[ pid ]   uid  tgid total_vm      rss "
NEW_HEADER = "[  pid  ]   uid  tgid total_vm      rss "
TABLE_HEADERS = {
    "2.6.32-rhel6": OLD_HEADER + "cpu oom_adj oom_score_adj name",
    "3.10-rhel7": OLD_HEADER + "nr_ptes swapents oom_score_adj name",
    "4.9": OLD_HEADER + "nr_ptes nr_pmds swapents oom_score_adj name",
    "4.19": NEW_HEADER + "pgtables_bytes swapents oom_score_adj name",
    "5.10": NEW_HEADER + "pgtables_bytes swapents oom_score_adj name",
    "5.15": NEW_HEADER + "pgtables_bytes swapents oom_score_adj name",
    "6.1": NEW_HEADER + "pgtables_bytes swapents oom_score_adj name",
    "6.8": NEW_HEADER + "rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name",
}
# printf formats of §3.8 applied to STRESS by hand
VICTIM_ROWS = {
    "2.6.32-rhel6": "[ 4312]  1000  4312  1012345   940512   1       0             0 stress",
    "3.10-rhel7": "[ 4312]  1000  4312  1012345   940512    1863        0             0 stress",
    "4.9": "[ 4312]  1000  4312  1012345   940512    1856       7        0             0 stress",
    "4.19": "[   4312]  1000  4312  1012345   940512  7630848        0             0 stress",
    "5.10": "[   4312]  1000  4312  1012345   940512  7630848        0             0 stress",
    "5.15": "[   4312]  1000  4312  1012345   940512  7630848        0             0 stress",
    "6.1": "[   4312]  1000  4312  1012345   940512  7630848        0             0 stress",
    "6.8": "[   4312]  1000  4312  1012345   940512   939800      712         0  7630848"
    "        0             0 stress",
}
KILLED_NEW = (
    "Out of memory: Killed process 4312 (stress) total-vm:4049380kB, anon-rss:3759200kB, "
    "file-rss:2848kB, shmem-rss:0kB, UID:1000 pgtables:7452kB oom_score_adj:0"
)
KILLED_4X = (
    "Killed process 4312 (stress) total-vm:4049380kB, anon-rss:3759200kB, file-rss:2848kB, "
    "shmem-rss:0kB"
)
KILL_LINES = {
    "2.6.32-rhel6": [
        f"Out of memory: Kill process 4312 (stress) score {STRESS_SCORE} or sacrifice child",
        "Killed process 4312, UID 1000, (stress) total-vm:4049380kB, anon-rss:3759200kB, "
        "file-rss:2848kB",
    ],
    "3.10-rhel7": [
        f"Out of memory: Kill process 4312 (stress) score {STRESS_SCORE} or sacrifice child",
        "Killed process 4312 (stress), UID 1000, total-vm:4049380kB, anon-rss:3759200kB, "
        "file-rss:2848kB, shmem-rss:0kB",
    ],
    "4.9": [
        f"Out of memory: Kill process 4312 (stress) score {STRESS_SCORE} or sacrifice child",
        KILLED_4X,
    ],
    "4.19": [
        f"Out of memory: Kill process 4312 (stress) score {STRESS_SCORE} or sacrifice child",
        KILLED_4X,
    ],
    "5.10": [KILLED_NEW],
    "5.15": [KILLED_NEW],
    "6.1": [KILLED_NEW],
    "6.8": [KILLED_NEW],
}
SUMMARY = (
    "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,"
    f"task_memcg={SESSION},task=stress,pid=4312,uid=1000"
)
REAPER = "oom_reaper: reaped process 4312 (stress), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB"


@pytest.mark.parametrize("era", ERAS)
def test_global_oom_key_lines(era: str) -> None:
    lines = global_report(era).lines()
    assert lines[0] == HEADERS[era]
    rank = ERAS.index(era)
    if rank <= ERAS.index("4.19"):
        assert lines[1] == "stress cpuset=/ mems_allowed=0"
        assert lines[2] == TASK_LINES[era]
    else:
        assert lines[1] == TASK_LINES[era]
    header_at = lines.index(TABLE_HEADERS[era])
    tasks_state = lines[header_at - 1] == "Tasks state (memory values in pages):"
    assert tasks_state == (rank >= ERAS.index("4.19"))
    assert lines[header_at + 2] == VICTIM_ROWS[era]
    tail = lines[header_at + 3 :]
    expected_tail = list(KILL_LINES[era])
    if rank >= ERAS.index("5.10"):
        expected_tail.insert(0, SUMMARY)
    if rank >= ERAS.index("4.9"):
        expected_tail.append(REAPER)
    assert tail == expected_tail


def test_expected_values_follow_the_printed_text() -> None:
    new = global_report("6.1").expected()
    assert new["kind"] == "oom_kill"
    assert new["trigger"] == {
        "comm": "stress",
        "pid": 4312,
        "gfp_mask": "0x140dca",
        "gfp_flags": ["GFP_HIGHUSER_MOVABLE", "__GFP_COMP", "__GFP_ZERO"],
        "order": 0,
        "oom_score_adj": 0,
    }
    assert new["victim"] == {
        "pid": 4312,
        "comm": "stress",
        "total_vm_kib": 4049380,
        "anon_rss_kib": 3759200,
        "file_rss_kib": 2848,
        "shmem_rss_kib": 0,
        "pgtables_kib": 7452,
        "uid": 1000,
        "oom_score_adj": 0,
        "score": None,
    }
    assert new["selected"] is None
    assert new["memcg"]["victim_path"] == SESSION and new["memcg"]["limit_path"] is None
    assert new["constraint"] == "CONSTRAINT_NONE" and new["reaped"] is True
    assert new["swap"] == {"total_kib": 0, "free_kib": 0}
    assert [row["pid"] for row in new["tasks"]] == [612, 4312]
    assert new["tasks"][1]["pgtables_bytes"] == 7630848

    old = global_report("2.6.32-rhel6").expected()
    assert old["victim"]["uid"] == 1000 and old["victim"]["shmem_rss_kib"] is None
    assert old["victim"]["pgtables_kib"] is None and old["victim"]["oom_score_adj"] is None
    assert old["selected"] == {"pid": 4312, "comm": "stress", "score": STRESS_SCORE}
    assert old["victim"]["score"] == STRESS_SCORE
    assert old["tasks"][1]["swapents"] is None and old["tasks"][1]["pgtables_bytes"] is None
    assert old["memcg"] is None and old["reaped"] is False
    assert global_report("4.9").expected()["victim"]["uid"] is None


def test_rhel6_template_of_section_4() -> None:
    """§4 'RHEL6, global': a one-task table whose score is 934."""
    java = SynthTask(
        pid=2592,
        uid=500,
        tgid=2592,
        total_vm_pages=584727,
        rss_anon_pages=253037,
        rss_file_pages=0,
        rss_shmem_pages=0,
        pgtables_bytes=500 * 4096,
        swapents=0,
        oom_score_adj=0,
        name="java",
        cpu=1,
    )
    zones = (
        SynthZone(name="DMA", present_pages=3998, managed_pages=3977),
        SynthZone(name="DMA32", present_pages=280_000, managed_pages=267_323),
    )  # totalram 271300: (253037 + 500) * 1000 // 271300 = 934
    report = replace(
        global_report("2.6.32-rhel6"),
        kernel_release="2.6.32-642.el6.x86_64",
        trigger_comm="java",
        trigger_pid=2592,
        gfp_mask=0x201DA,
        gfp_names="GFP_HIGHUSER_MOVABLE|__GFP_COLD",
        tasks=(java,),
        victim_pid=2592,
        zones=zones,
    )
    lines = report.lines()
    assert lines[:3] == [
        "java invoked oom-killer: gfp_mask=0x201da, order=0, oom_adj=0, oom_score_adj=0",
        "java cpuset=/ mems_allowed=0",
        "Pid: 2592, comm: java Not tainted 2.6.32-642.el6.x86_64 #1",
    ]
    assert lines[-4:] == [
        "[ pid ]   uid  tgid total_vm      rss cpu oom_adj oom_score_adj name",
        "[ 2592]   500  2592   584727   253037   1       0             0 java",
        "Out of memory: Kill process 2592 (java) score 934 or sacrifice child",
        "Killed process 2592, UID 500, (java) total-vm:2338908kB, anon-rss:1012148kB, file-rss:0kB",
    ]
    assert "Mem-Info:" in lines and "Swap cache stats: add 0, delete 0, find 0/0" in lines
    assert "Free swap  = 0kB" in lines and "Total swap = 0kB" in lines
    assert f"{report.ram_pages} pages RAM" in lines
    assert any(re.fullmatch(r"CPU    1: hi:  186, btch:  31 usd: +\d+", line) for line in lines)
    assert not any("hugepages" in line for line in lines)  # not printed before 3.x


def memcg_rhel7() -> SynthReport:
    """§4 'RHEL7 (3.10.0-x.el7), memcg v1' (with nr_ptes 100 so the score is 1000)."""
    java = SynthTask(
        pid=4242,
        uid=1000,
        tgid=4242,
        total_vm_pages=900000,
        rss_anon_pages=131070,
        rss_file_pages=0,
        rss_shmem_pages=0,
        pgtables_bytes=100 * 4096,
        swapents=0,
        oom_score_adj=0,
        name="java",
        cpu=3,
    )
    return replace(
        global_report("3.10-rhel7"),
        kind="memcg",
        trigger_comm="java",
        trigger_pid=4242,
        gfp_mask=0xD0,
        gfp_names="GFP_KERNEL",
        cpu=3,
        kdump=True,
        cpuset="docker-1a2b.scope",
        tasks=(java,),
        victim_pid=4242,
        memcg_limit_path="/docker/1a2b",
        memcg_victim_path="/docker/1a2b",
        memcg_usage_kib=524288,
        memcg_limit_kib=524288,
        memcg_failcnt=917,
        memsw_usage_kib=524288,
        memsw_limit_kib=9007199254740988,
        memcg_swap_failcnt=0,
    )


def test_rhel7_memcg_template_of_section_4() -> None:
    lines = memcg_rhel7().lines()
    assert lines[:3] == [
        "java invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=0",
        "java cpuset=docker-1a2b.scope mems_allowed=0",
        "CPU: 3 PID: 4242 Comm: java Kdump: loaded Not tainted 3.10.0-1160.el7.x86_64 #1",
    ]
    assert lines[3] == f"Hardware name: {HARDWARE}"
    # three lines of raw stack words, then the trace (x86 up to 4.9)
    assert all(re.fullmatch(r"( [0-9a-f]{16}){4}", line) for line in lines[4:7])
    assert lines[7] == "Call Trace:"
    assert re.fullmatch(
        r" \[<ffffffff8[0-9a-f]{7}>\] dump_stack\+0x[0-9a-f]+/0x[0-9a-f]+", lines[8]
    )
    at = lines.index("Task in /docker/1a2b killed as a result of limit of /docker/1a2b")
    assert lines[at + 1 : at + 3] == [
        "memory: usage 524288kB, limit 524288kB, failcnt 917",
        "memory+swap: usage 524288kB, limit 9007199254740988kB, failcnt 0",
    ]
    assert re.fullmatch(r"kmem: usage \d+kB, limit 9007199254740988kB, failcnt 0", lines[at + 3])
    stats = lines[at + 4]
    assert stats.startswith("Memory cgroup stats for /docker/1a2b: cache:")
    keys = re.findall(r" ([a-z_]+):\d+KB", stats)
    assert keys == [
        "cache",
        "rss",
        "rss_huge",
        "mapped_file",
        "swap",
        "inactive_anon",
        "active_anon",
        "inactive_file",
        "active_file",
        "unevictable",
    ]
    assert "rss:524280KB" in stats
    assert "Mem-Info:" not in lines  # a 3.x memcg OOM prints no global Mem-Info
    assert lines[at + 5 :] == [
        "[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name",
        "[ 4242]  1000  4242   900000   131070     100        0             0 java",
        "Memory cgroup out of memory: Kill process 4242 (java) score 1000 or sacrifice child",
        "Killed process 4242 (java), UID 1000, total-vm:3600000kB, anon-rss:524280kB, "
        "file-rss:0kB, shmem-rss:0kB",
    ]
    expected = memcg_rhel7().expected()
    assert expected["memcg"]["usage_kib"] == 524288 and expected["memcg"]["failcnt"] == 917
    assert expected["memcg"]["swap_usage_kib"] is None
    assert expected["memcg"]["memsw_limit_kib"] == 9007199254740988
    assert expected["swap"] == {"total_kib": None, "free_kib": None}
    assert expected["constraint"] == "CONSTRAINT_MEMCG"


def test_rhel7_before_7_9_has_no_uid_in_the_kill_line() -> None:
    report = replace(memcg_rhel7(), kernel_release="3.10.0-862.14.4.el7.x86_64")
    assert report.lines()[-1] == (
        "Killed process 4242 (java) total-vm:3600000kB, anon-rss:524280kB, file-rss:0kB, "
        "shmem-rss:0kB"
    )
    assert report.expected()["victim"]["uid"] is None


APP = "/user.slice/user-1000.slice/user@1000.service/app.slice/run-u820.service"


def memcg_v2(era: str) -> SynthReport:
    """§4 '6.13 - 6.19, cgroup v2 memcg', in an era that this generator covers."""
    python3 = SynthTask(
        pid=483880,
        uid=1000,
        tgid=483880,
        total_vm_pages=73357,
        rss_anon_pages=12706,
        rss_file_pages=1824,
        rss_shmem_pages=0,
        pgtables_bytes=180224,
        swapents=0,
        oom_score_adj=200,
        name="python3",
        cpu=2,
    )
    return replace(
        global_report(era),
        kind="memcg",
        trigger_comm="python3",
        trigger_pid=483880,
        gfp_mask=0xCC0,
        gfp_names="GFP_KERNEL",
        oom_score_adj=200,
        cpu=12,
        cpuset="user.slice",
        tasks=(python3,),
        victim_pid=483880,
        memcg_limit_path=APP,
        memcg_victim_path=APP,
        memcg_usage_kib=51200,
        memcg_limit_kib=51200,
        memcg_failcnt=37,
        memcg_swap_usage_kib=0,
        memcg_swap_limit_kib=0,
        memcg_swap_failcnt=0,
        reaped=False,
    )


@pytest.mark.parametrize("era", ["5.10", "5.15", "6.1", "6.8"])
def test_cgroup_v2_memcg(era: str) -> None:
    report = memcg_v2(era)
    records = report.records()
    texts = [r.text for r in records]
    assert texts[0] == (
        "python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=200"
    )
    at = texts.index("memory: usage 51200kB, limit 51200kB, failcnt 37")
    assert texts[at + 1 : at + 3] == [
        "swap: usage 0kB, limit 0kB, failcnt 0",
        f"Memory cgroup stats for {APP}:",
    ]
    if era == "6.8":  # one record per line from ~6.5
        assert texts[at + 3] == "anon 52043776" and "\n" not in texts[at + 3]
    else:  # 5.3 - 6.1: one record with embedded newlines
        assert texts[at + 3].startswith("anon 52043776\nfile ")
        assert all(re.fullmatch(r"[a-z0-9_]+ \d+", kv) for kv in texts[at + 3].split("\n"))
    row = (
        "[ 483880]  1000 483880    73357    14530    12706     1824         0   180224        0"
        "           200 python3"
        if era == "6.8"
        else "[ 483880]  1000 483880    73357    14530   180224        0           200 python3"
    )
    lines = report.lines()
    assert lines[-5:] == [
        "Tasks state (memory values in pages):",
        TABLE_HEADERS[era],
        row,
        "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=user.slice,mems_allowed=0,"
        f"oom_memcg={APP},task_memcg={APP},task=python3,pid=483880,uid=1000",
        "Memory cgroup out of memory: Killed process 483880 (python3) total-vm:293428kB, "
        "anon-rss:50824kB, file-rss:7296kB, shmem-rss:0kB, UID:1000 pgtables:176kB "
        "oom_score_adj:200",
    ]
    assert "Mem-Info:" not in lines
    expected = report.expected()["memcg"]
    assert expected["limit_path"] == APP and expected["swap_limit_kib"] == 0
    assert expected["memsw_usage_kib"] is None


# --------------------------------------------------------------------- era-specific blocks


def mem_info(report: SynthReport) -> list[str]:
    lines = report.lines()
    return lines[lines.index("Mem-Info:") :]


def counters(report: SynthReport) -> list[str]:
    """The keys of the multi-line Mem-Info counters record, line by line."""
    record = next(r.text for r in report.records() if r.text.startswith("active_anon:"))
    return [" ".join(re.findall(r"([a-z_]+):\d+", line)) for line in record.split("\n")]


def test_mem_info_counter_layouts() -> None:
    assert counters(global_report("2.6.32-rhel6")) == [
        "active_anon inactive_anon isolated_anon",
        "active_file inactive_file isolated_file",
        "unevictable dirty writeback unstable",
        "free slab_reclaimable slab_unreclaimable",
        "mapped shmem pagetables bounce",
    ]
    middle = [
        "active_anon inactive_anon isolated_anon",
        "active_file inactive_file isolated_file",
        "unevictable dirty writeback unstable",
        "slab_reclaimable slab_unreclaimable",
        "mapped shmem pagetables bounce",
        "free free_pcp free_cma",
    ]
    for era in ("3.10-rhel7", "4.9", "4.19"):
        assert counters(global_report(era)) == middle
    no_unstable = [*middle[:2], "unevictable dirty writeback", *middle[3:]]
    assert counters(global_report("5.10")) == no_unstable
    assert counters(global_report("5.15")) == [
        *no_unstable[:5],
        "kernel_misc_reclaimable",
        no_unstable[5],
    ]
    six = [
        *no_unstable[:4],
        "mapped shmem pagetables",
        "sec_pagetables bounce",
        "kernel_misc_reclaimable",
        "free free_pcp free_cma",
    ]
    assert counters(global_report("6.1")) == six
    assert counters(global_report("6.8")) == six
    record = next(
        r.text for r in global_report("6.1").records() if r.text.startswith("active_anon:")
    )
    assert all(line.startswith(" ") for line in record.split("\n")[1:])


def zone_keys(report: SynthReport, zone: str = "Normal") -> str:
    line = next(x for x in report.lines() if x.startswith(f"Node 0 {zone} free:"))
    return " ".join(re.findall(r"([a-z_()]+)[:?]", line.removeprefix(f"Node 0 {zone} ")))


def test_zone_and_node_lines() -> None:
    assert zone_keys(global_report("3.10-rhel7")) == (
        "free min low high active_anon inactive_anon active_file inactive_file unevictable "
        "isolated(anon) isolated(file) present managed mlocked dirty writeback mapped shmem "
        "slab_reclaimable slab_unreclaimable kernel_stack pagetables unstable bounce free_pcp "
        "local_pcp free_cma writeback_tmp pages_scanned all_unreclaimable"
    )
    assert zone_keys(global_report("4.19")) == (
        "free min low high active_anon inactive_anon active_file inactive_file unevictable "
        "writepending present managed mlocked kernel_stack pagetables bounce free_pcp "
        "local_pcp free_cma"
    )
    assert zone_keys(global_report("6.1")) == (
        "free boost min low high reserved_highatomic active_anon inactive_anon active_file "
        "inactive_file unevictable writepending present managed mlocked bounce free_pcp "
        "local_pcp free_cma"
    )
    assert "reserved_highatomic:0KB" in next(
        x for x in global_report("5.10").lines() if x.startswith("Node 0 DMA free:")
    )
    node61 = next(x for x in global_report("6.1").lines() if x.startswith("Node 0 active_anon:"))
    assert "shmem_thp: 0kB" in node61 and node61.endswith(
        re.search(
            r"pagetables:\d+kB sec_pagetables:0kB all_unreclaimable\? (yes|no)$", node61
        ).group(0)  # type: ignore[union-attr]
    )
    node68 = next(x for x in global_report("6.8").lines() if x.startswith("Node 0 active_anon:"))
    assert "shmem_thp:0kB" in node68
    node49 = next(x for x in global_report("4.9").lines() if x.startswith("Node 0 active_anon:"))
    assert re.search(r"unstable:0kB pages_scanned:\d+ all_unreclaimable", node49)
    assert not any(x.startswith("Node 0 active_anon") for x in global_report("3.10-rhel7").lines())


def test_buddy_lines_add_up() -> None:
    for era in ERAS:
        for line in global_report(era).lines():
            m = re.fullmatch(r"Node 0 (DMA|DMA32|Normal): (.*) = (\d+)kB", line)
            if m:
                blocks = re.findall(r"(\d+)\*(\d+)kB", m.group(2))
                assert len(blocks) == 11
                assert sum(int(n) * int(size) for n, size in blocks) == int(m.group(3))
                letters = re.findall(r"\(([A-Z]+)\)", m.group(2))
                assert (not letters) if era == "2.6.32-rhel6" else True
                zone_line = next(
                    x
                    for x in global_report(era).lines()
                    if x.startswith(f"Node 0 {m.group(1)} free:")
                )
                assert zone_line.startswith(f"Node 0 {m.group(1)} free:{m.group(3)}kB ")


def test_swap_and_ram_summary() -> None:
    lines = mem_info(global_report("5.15", swap_total_kib=2097148, swap_free_kib=1024))
    assert "Free swap  = 1024kB" in lines and "Total swap = 2097148kB" in lines
    assert any(x.startswith("Swap cache stats: add ") for x in lines)
    assert "1023999 pages RAM" in lines and "23999 pages reserved" in lines
    assert "0 pages HighMem/MovableOnly" in lines
    six = mem_info(global_report("6.1"))
    assert not any(x.startswith("Swap cache stats") for x in six)  # removed in 6.0


def test_rhel7_and_rhel6_manual_oom() -> None:
    for era, sysrq in (("2.6.32-rhel6", "SysRq : Manual OOM execution"), ("3.10-rhel7", None)):
        report = random_report(random.Random(4), era=era, kind="manual")
        lines = report.lines()
        assert lines[0] == (sysrq or "SysRq : Manual OOM execution")
        assert re.search(r"gfp_mask=0xd0, order=0,", lines[1])
        assert report.expected()["manual"] is True


@pytest.mark.parametrize("era", ["4.9", "4.19", "5.10", "6.1", "6.8"])
def test_sysrq_manual_oom(era: str) -> None:
    report = random_report(random.Random(3), era=era, kind="manual")
    lines = report.lines()
    assert lines[0] == "sysrq: Manual OOM execution"
    assert re.fullmatch(
        r"kworker/\d+:\d invoked oom-killer: gfp_mask=0x[0-9a-f]+\(GFP_KERNEL\), "
        r"(nodemask=\S+, )?order=-1, oom_score_adj=0",
        lines[1],
    )
    assert "Workqueue: events moom_callback" in lines
    expected = report.expected()
    assert expected["trigger"]["order"] == -1 and expected["manual"] is True
    assert expected["kind"] == "oom_kill" and expected["victim"] is not None


def test_allocation_failure_first_lines() -> None:
    forms = {
        "2.6.32-rhel6": r"\S+: page allocation failure\. order:\d, mode:0x[0-9a-f]+",
        "3.10-rhel7": r"\S+: page allocation failure: order:\d, mode:0x[0-9a-f]+",
        "4.9": r"\S+: page allocation failure: order:\d, mode:0x[0-9a-f]+\(GFP_ATOMIC[^)]*\)",
        "4.19": r"\S+: page allocation failure: order:\d, mode:0x[0-9a-f]+\(GFP_ATOMIC[^)]*\), "
        r"nodemask=\(null\)",
        "6.8": r"\S+: page allocation failure: order:\d, mode:0x[0-9a-f]+\(GFP_ATOMIC[^)]*\), "
        r"nodemask=\(null\),cpuset=/,mems_allowed=0",
    }
    for era, form in forms.items():
        report = random_report(random.Random(2), era=era, kind="allocation_failure", hostile=False)
        lines = report.lines()
        assert re.fullmatch(form, lines[0]), (era, lines[0])
        assert "Mem-Info:" in lines and not any("invoked oom-killer" in x for x in lines)
        if era == "4.19":
            assert lines[1] == f"{report.trigger_comm} cpuset=/ mems_allowed=0"
        expected = report.expected()
        assert expected["kind"] == "allocation_failure" and expected["tasks"] is None
        assert expected["victim"] is None and expected["trigger"]["oom_score_adj"] is None
    # nothing is free at or above the failing order
    report = random_report(random.Random(2), era="6.8", kind="allocation_failure")
    normal = next(x for x in report.lines() if x.startswith("Node 0 Normal: "))
    counts = [int(n) for n in re.findall(r"(\d+)\*\d+kB", normal)]
    assert all(c == 0 for c in counts[report.order :])


def test_no_killable_processes_panic() -> None:
    old = random_report(random.Random(5), era="3.10-rhel7", kind="panic_no_killable").lines()
    at = old.index("Kernel panic - not syncing: Out of memory and no killable processes...")
    assert old[at + 1] == ""  # the message kept its "\n" (up to ~5.3)
    assert not any(x.startswith("---[ end") for x in old)  # 3.10 has no end marker

    v419 = random_report(random.Random(5), era="4.19", kind="panic_no_killable")
    lines = v419.lines()
    at = lines.index("Out of memory and no killable processes...")
    assert lines[at + 1 : at + 3] == [
        "Kernel panic - not syncing: System is deadlocked on memory",
        "",
    ]
    assert lines[-2:] == [
        "---[ end Kernel panic - not syncing: System is deadlocked on memory",
        " ]---",
    ]
    assert any(x.startswith("Kernel Offset: 0x") for x in lines)

    new = random_report(random.Random(5), era="6.1", kind="panic_no_killable")
    assert (
        new.lines()[-1]
        == "---[ end Kernel panic - not syncing: System is deadlocked on memory ]---"
    )
    expected = new.expected()
    assert expected["kind"] == "oom_panic" and expected["victim"] is None
    assert expected["panic"] == "Kernel panic - not syncing: System is deadlocked on memory"
    assert all(row["oom_score_adj"] == -1000 for row in expected["tasks"])
    assert not any(x.startswith(("oom-kill:", "Out of memory: Killed")) for x in new.lines())


def test_memcg_v1_subtree_stats_lines() -> None:
    rng = random.Random(0)
    for _ in range(200):
        report = random_report(rng, era="4.19", kind="memcg")
        if report.memcg_limit_path != report.memcg_victim_path:
            break
    else:
        pytest.fail("no kubepods-style report")
    lines = report.lines()
    task_in = (
        f"Task in {report.memcg_victim_path} killed as a result of limit of "
        f"{report.memcg_limit_path}"
    )
    assert task_in in lines
    stats = [x for x in lines if x.startswith("Memory cgroup stats for ")]
    assert [x.split(":")[0] for x in stats] == [
        f"Memory cgroup stats for {report.memcg_limit_path}",
        f"Memory cgroup stats for {report.memcg_victim_path}",
    ]
    assert "rss:0KB" in stats[0]  # the pod level holds no pages itself
    assert re.findall(r" ([a-z_]+):\d+KB", stats[1])[:8] == [
        "cache",
        "rss",
        "rss_huge",
        "shmem",
        "mapped_file",
        "dirty",
        "writeback",
        "swap",
    ]


# --------------------------------------------------------------------- invariants


def parse_kill(line: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"([a-z-]+):(\d+)kB", line)}


@pytest.mark.parametrize("era", ERAS)
def test_random_reports_are_consistent(era: str) -> None:
    rng = random.Random(hash(era) & 0xFFFF)
    for _ in range(40):
        report = random_report(rng, era=era)
        lines = report.lines()
        expected = report.expected()
        assert all(len(t.name.encode()) <= 15 and "," not in t.name for t in report.tasks)
        if report.kind in ("oom_kill", "memcg", "manual"):
            victim = report.victim
            assert victim is not None
            assert select_victim(era, report.tasks, report.totalpages) is victim
            killed = next(x for x in lines if "Killed process" in x)
            sizes = parse_kill(killed)
            assert sizes["total-vm"] == victim.total_vm_pages * 4
            assert sizes["anon-rss"] == victim.rss_anon_pages * 4
            file_pages = victim.rss_file_pages + (victim.rss_shmem_pages if era == ERAS[0] else 0)
            assert sizes["file-rss"] == file_pages * 4
            if "pgtables" in sizes:
                assert sizes["pgtables"] == victim.pgtables_bytes >> 10
            assert f"({victim.name})" in killed
            assert re.search(rf"Killed process {victim.pid}\b", killed)
            score = expected["victim"]["score"]
            if ERAS.index(era) <= ERAS.index("4.19"):
                assert f"score {score} or sacrifice child" in lines[lines.index(killed) - 1]
                assert 0 <= score <= 2000
            else:
                summary = next(x for x in lines if x.startswith("oom-kill:"))
                assert summary.endswith(f",task={victim.name},pid={victim.pid},uid={victim.uid}")
            assert any(report.trigger_comm in x for x in lines[:2])
        if report.kind == "memcg":
            assert report.memcg_limit_kib is not None and report.memcg_usage_kib is not None
            assert report.memcg_limit_kib - 64 <= report.memcg_usage_kib <= report.memcg_limit_kib
            assert report.memcg_limit_kib % 4 == 0
        if expected["swap"]["total_kib"] is not None:
            assert 0 <= expected["swap"]["free_kib"] <= expected["swap"]["total_kib"]
            assert expected["swap"]["free_kib"] % 4 == 0 == expected["swap"]["total_kib"] % 4
            assert f"Total swap = {report.swap_total_kib}kB" in lines
        assert report.totalram_pages + report.reserved_pages == report.ram_pages
        if report.prints_tasks:
            assert len(expected["tasks"]) == len(report.tasks) <= 400


def test_random_report_is_deterministic_and_varied() -> None:
    a = random_report(random.Random(42))
    b = random_report(random.Random(42))
    assert a == b and a.lines() == b.lines()
    reports = [random_report(random.Random(seed)) for seed in range(300)]
    assert {r.era for r in reports} == set(ERAS)
    assert {r.kind for r in reports} == set(KINDS)
    names = {t.name for r in reports for t in r.tasks}
    assert names & {"runc:[2:INIT]", "<script>", "a|b|c", "my app (v2)", "Web Content"}
    sizes = [len(r.tasks) for r in reports if r.kind == "oom_kill"]
    assert min(sizes) >= 1 and max(sizes) <= 400 and max(sizes) > 100


def test_rejects_unknown_values() -> None:
    with pytest.raises(ValueError):
        random_report(random.Random(1), era="7.0")
    with pytest.raises(ValueError):
        replace(global_report("6.1"), victim_pid=999)
    with pytest.raises(ValueError):
        render(["x"], "weird", start_uptime=1, wallclock=datetime(2024, 1, 1, tzinfo=UTC))


# --------------------------------------------------------------------- envelopes

WALL = datetime(2023, 11, 25, 12, 0, 0, tzinfo=UTC)
RECORDS: list[str | Record] = [
    "Mem-Info:",
    Record("active_anon:1 inactive_anon:2 isolated_anon:0\n active_file:3 inactive_file:4"),
    Record("Killed process 7 (a b)", 3),
]


def test_envelope_dmesg() -> None:
    assert render(RECORDS, "dmesg", start_uptime=123.456789, wallclock=WALL) == [
        "[  123.456789] Mem-Info:",
        "[  123.456806] active_anon:1 inactive_anon:2 isolated_anon:0",
        "                active_file:3 inactive_file:4",
        "[  123.456839] Killed process 7 (a b)",
    ]


def test_envelope_dmesg_t() -> None:
    assert render(RECORDS, "dmesg-T", start_uptime=5.0, wallclock=WALL) == [
        "[Sat Nov 25 12:00:00 2023] Mem-Info:",
        "[Sat Nov 25 12:00:00 2023] active_anon:1 inactive_anon:2 isolated_anon:0",
        "                            active_file:3 inactive_file:4",
        "[Sat Nov 25 12:00:00 2023] Killed process 7 (a b)",
    ]


def test_envelope_syslog_prefixes_every_line() -> None:
    assert render(RECORDS, "syslog", start_uptime=123.456789, wallclock=WALL, host="h1") == [
        "Nov 25 12:00:00 h1 kernel: [  123.456789] Mem-Info:",
        "Nov 25 12:00:00 h1 kernel: [  123.456806] active_anon:1 inactive_anon:2 isolated_anon:0",
        "Nov 25 12:00:00 h1 kernel: [  123.456806]  active_file:3 inactive_file:4",
        "Nov 25 12:00:00 h1 kernel: [  123.456839] Killed process 7 (a b)",
    ]
    day = render(["x"], "syslog", start_uptime=1.5, wallclock=datetime(2024, 6, 4, 1, 2, 3))
    assert day == ["Jun  4 01:02:03 localhost kernel: [    1.500000] x"]


def test_envelope_journal_indents_continuations() -> None:
    assert render(RECORDS, "journal", start_uptime=1, wallclock=WALL, host="h1") == [
        "Nov 25 12:00:00 h1 kernel: Mem-Info:",
        "Nov 25 12:00:00 h1 kernel: active_anon:1 inactive_anon:2 isolated_anon:0",
        "                            active_file:3 inactive_file:4",
        "Nov 25 12:00:00 h1 kernel: Killed process 7 (a b)",
    ]


def test_envelope_rfc3339_kmsg_bare() -> None:
    assert render(RECORDS[:2], "rfc3339", start_uptime=1, wallclock=WALL, host="h1") == [
        "2023-11-25T12:00:00.000000+00:00 h1 kernel: Mem-Info:",
        "2023-11-25T12:00:00.000017+00:00 h1 kernel: active_anon:1 inactive_anon:2 isolated_anon:0",
        "2023-11-25T12:00:00.000017+00:00 h1 kernel:  active_file:3 inactive_file:4",
    ]
    assert render(RECORDS, "kmsg", start_uptime=123.456789, wallclock=WALL, seq=40) == [
        "4,40,123456789,-;Mem-Info:",
        "4,41,123456806,-;active_anon:1 inactive_anon:2 isolated_anon:0\\x0a active_file:3 "
        "inactive_file:4",
        "3,42,123456839,-;Killed process 7 (a b)",
    ]
    assert render(["Größe\\x"], "kmsg", start_uptime=0, wallclock=WALL) == [
        "4,0,0,-;Gr\\xc3\\xb6\\xc3\\x9fe\\x5cx"
    ]
    assert render(RECORDS, "bare", start_uptime=1, wallclock=WALL) == [
        "Mem-Info:",
        "active_anon:1 inactive_anon:2 isolated_anon:0",
        " active_file:3 inactive_file:4",
        "Killed process 7 (a b)",
    ]


def test_non_kernel_programs_in_envelopes() -> None:
    rec = [Record("Started Session 4 of user bob.", 6, "systemd[1]")]
    assert render(rec, "syslog", start_uptime=1, wallclock=WALL, host="h") == [
        "Nov 25 12:00:00 h systemd[1]: Started Session 4 of user bob."
    ]
    assert render(rec, "dmesg", start_uptime=1, wallclock=WALL) == [
        "[    1.000000] systemd[1]: Started Session 4 of user bob."
    ]
    assert render(rec, "kmsg", start_uptime=1, wallclock=WALL) == [
        "30,0,1000000,-;systemd[1]: Started Session 4 of user bob."
    ]


def test_reaper_comes_later_than_the_kill() -> None:
    out = render(global_report("6.1").records(), "dmesg", start_uptime=100, wallclock=WALL)
    stamps = [float(x[1:13]) for x in out if x.startswith("[")]
    assert stamps == sorted(stamps)
    assert stamps[-1] - stamps[-2] >= 0.002


# --------------------------------------------------------------------- noise


def test_noise_lines_are_not_oom_reports() -> None:
    items = list(noise_lines(random.Random(9), 30000))
    assert len(items) == 30000
    text = "\n".join(items)
    for marker in (
        "invoked oom-killer",
        "Killed process",
        "Kill process",
        "oom-kill:",
        "page allocation failure",
        "oom_reaper",
        "Memory cgroup out of memory",
        "Out of memory:",
    ):
        assert marker not in text
    for near_miss in (
        "init: failsafe main process (",
        "OOM killer disabled.",
        "sysrq: Show Memory",
        "Mem-Info:",
        "Out of memory while processing",
        "mode:0x",
        "room",
        "Zoom",
        "processing",
        "Killing process",
    ):
        assert near_miss in text, near_miss
    programs = {item.partition(": ")[0] for item in items}
    assert "kernel" in programs and any(p.startswith("CRON[") for p in programs)
    kernel_only = list(noise_lines(random.Random(9), 2000, kernel_only=True))
    assert all(x.startswith(("kernel: ", "systemd[1]: ")) for x in kernel_only)


# --------------------------------------------------------------------- log files


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


@pytest.mark.parametrize("envelope", ENVELOPES)
def test_write_log(tmp_path: Path, envelope: str) -> None:
    path = tmp_path / "x.log"
    size = 3 << 20
    events = write_log(path, size_bytes=size, reports=12, envelope=envelope, seed=11)
    assert len(events) == 12
    assert abs(path.stat().st_size - size) <= size * 0.05
    lines = read_lines(path)
    previous = 0
    for event in events:
        first, last = event["source"]["first_line"], event["source"]["last_line"]
        assert previous < first <= last <= len(lines)
        previous = last
        head = lines[first - 1]
        marker = "page allocation failure" if event["kind"] == "allocation_failure" else "invoked"
        assert marker in head, head
        assert event["trigger"]["comm"] in head or envelope == "kmsg"
        uptime, wall = event["time"]["uptime_s"], event["time"]["wallclock"]
        if envelope in ("dmesg", "syslog"):
            assert f"{uptime:.6f}]" in head
        elif envelope == "kmsg":
            assert f",{round(uptime * 1_000_000)},-;" in head
        else:
            assert uptime is None
        if envelope in ("syslog", "journal", "dmesg-T"):
            assert wall[11:19] in head
        elif envelope == "rfc3339":
            assert head.startswith(wall)
        else:
            assert wall is None
        assert (event["host"] is not None) == (envelope in ("syslog", "journal", "rfc3339"))
        tail = lines[last - 1]
        if event["kind"] == "oom_kill" and event["reaped"]:
            assert "oom_reaper: reaped process" in tail


def test_write_log_is_deterministic_and_compresses(tmp_path: Path) -> None:
    a, b, c, gz = (tmp_path / n for n in ("a.log", "b.log", "c.log", "a.log.gz"))
    ea = write_log(a, size_bytes=1 << 20, reports=5, envelope="syslog", seed=3)
    eb = write_log(b, size_bytes=1 << 20, reports=5, envelope="syslog", seed=3)
    write_log(c, size_bytes=1 << 20, reports=5, envelope="syslog", seed=4)
    egz = write_log(gz, size_bytes=1 << 20, reports=5, envelope="syslog", seed=3, compress="gzip")
    digest = hashlib.sha256(a.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(b.read_bytes()).hexdigest()
    assert digest != hashlib.sha256(c.read_bytes()).hexdigest()
    assert gzip.decompress(gz.read_bytes()) == a.read_bytes()
    assert gz.stat().st_size < a.stat().st_size / 3
    for x, y, z in zip(ea, eb, egz, strict=True):
        assert x["source"]["path"] == str(a) and z["source"]["path"] == str(gz)
        assert {**x, "source": x["source"]["first_line"]} == {
            **y,
            "source": y["source"]["first_line"],
        }
        assert {**x, "source": x["source"]["first_line"]} == {
            **z,
            "source": z["source"]["first_line"],
        }


def test_write_log_with_given_reports_and_interleaving(tmp_path: Path) -> None:
    path = tmp_path / "k.log"
    reports = [global_report("6.1"), memcg_rhel7()]
    events = write_log(
        path,
        size_bytes=200_000,
        reports=2,
        envelope="journal",
        seed=5,
        synth_reports=reports,
        interleave=1.0,
        start=datetime(2024, 5, 17, 9, 0, 0, tzinfo=UTC),
    )
    assert [e["trigger"]["pid"] for e in events] == [4312, 4242]
    assert events[0]["victim"]["pgtables_kib"] == 7452
    lines = read_lines(path)
    first, last = events[0]["source"]["first_line"], events[0]["source"]["last_line"]
    block = lines[first - 1 : last]
    kernel = [x for x in block if " kernel: " in x or x.startswith(" ")]
    assert len(kernel) < len(block) or any("kernel: " not in x for x in block)  # foreign lines
    assert block[0].endswith(" kernel: " + HEADERS["6.1"])
    assert events[0]["time"]["wallclock"].startswith("2024-05-17T09:")
    with pytest.raises(ValueError):
        write_log(path, size_bytes=1000, reports=3, envelope="dmesg", seed=1, synth_reports=reports)


def test_panic_reboots_the_machine(tmp_path: Path) -> None:
    path = tmp_path / "p.log"
    events = write_log(
        path, size_bytes=400_000, reports=3, envelope="dmesg", seed=2, kinds=["panic_no_killable"]
    )
    lines = read_lines(path)
    assert all(e["kind"] == "oom_panic" for e in events)
    boots = [i for i, x in enumerate(lines) if "] Linux version " in x]
    assert len(boots) == 3
    assert lines[boots[0]].startswith("[    0.000")


def test_write_log_streams(tmp_path: Path) -> None:
    tracemalloc.start()
    try:
        write_log(tmp_path / "s.log", size_bytes=10 << 20, reports=4, envelope="syslog", seed=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (tmp_path / "s.log").stat().st_size > 9 << 20
    assert peak < 6 << 20  # about two 1 MB write buffers, whatever the file size
