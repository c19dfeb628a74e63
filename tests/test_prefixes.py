"""Tests for oomlens.prefixes: one table of envelopes, properties, huge lines, the shared corpus."""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from oomlens import prefixes, synth
from oomlens.model import Envelope, Prefix
from oomlens.prefixes import parse_prefix

E = Envelope


def P(envelope: Envelope, text: str, **fields: Any) -> Prefix:  # noqa: N802  (reads like a row)
    return Prefix(envelope=envelope, text=text, **fields)


# Every row: (line, expected Prefix).  Lines are written in the kernel's own formats; year=2023.
CASES: dict[str, tuple[str, Prefix]] = {
    # ---- raw dmesg / console
    "dmesg": ("[  123.456789] Mem-Info:", P(E.DMESG, "Mem-Info:", uptime_s=123.456789)),
    "dmesg-wide": (
        "[732882.110209] PM: suspend entry (s2idle)",
        P(E.DMESG, "PM: suspend entry (s2idle)", uptime_s=732882.110209),
    ),
    "dmesg-continuation-keeps-space": (
        "[12345.678901]  active_file:1263 inactive_file:1167 isolated_file:32",
        P(E.DMESG, " active_file:1263 inactive_file:1167 isolated_file:32", uptime_s=12345.678901),
    ),
    "dmesg-stack-words": (
        "[ 4321.000448]  ffff88810a2b7c40 ffff88810a2b7c98 ffffffff81a01234",
        P(E.DMESG, " ffff88810a2b7c40 ffff88810a2b7c98 ffffffff81a01234", uptime_s=4321.000448),
    ),
    "dmesg-tab-text": (
        "[    0.000000] \tRCU restricting CPUs from NR_CPUS=256 to nr_cpu_ids=1.",
        P(E.DMESG, "\tRCU restricting CPUs from NR_CPUS=256 to nr_cpu_ids=1.", uptime_s=0.0),
    ),
    "dmesg-task-row-in-text": (
        "[ 4321.000600] [ 4242]  1000  4242   262144   131072     1024        0  0 hog",
        P(
            E.DMESG,
            "[ 4242]  1000  4242   262144   131072     1024        0  0 hog",
            uptime_s=4321.0006,
        ),
    ),
    "dmesg-caller": (
        "[  246.610518][ T1778] oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/",
        P(
            E.DMESG,
            "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/",
            uptime_s=246.610518,
            caller="T1778",
        ),
    ),
    "dmesg-caller-spaced": (
        "[  123.456789] [ T4312] Out of memory: Killed process 4312 (stress)",
        P(
            E.DMESG,
            "Out of memory: Killed process 4312 (stress)",
            uptime_s=123.456789,
            caller="T4312",
        ),
    ),
    "dmesg-caller-cpu": (
        "[    1.000000][    C3] NMI watchdog: Watchdog detected hard LOCKUP on cpu 3",
        P(
            E.DMESG,
            "NMI watchdog: Watchdog detected hard LOCKUP on cpu 3",
            uptime_s=1.0,
            caller="C3",
        ),
    ),
    "caller-alone": (
        "[   T32] oom_reaper: reaped process 4242 (hog), now anon-rss:0kB",
        P(E.DMESG, "oom_reaper: reaped process 4242 (hog), now anon-rss:0kB", caller="T32"),
    ),
    "dmesg-d-delta": (
        "[  123.456789 <    0.000012>] Node 0 DMA32 free:122208kB",
        P(E.DMESG, "Node 0 DMA32 free:122208kB", uptime_s=123.456789),
    ),
    "dmesg-e-relative": (
        "[  +0.000123] lowmem_reserve[]: 0 0 0 0",
        P(E.DMESG, "lowmem_reserve[]: 0 0 0 0"),
    ),
    "dmesg-e-minute": ("[Nov25 12:00] Mem-Info:", P(E.DMESG_T, "Mem-Info:")),
    "level-and-time": (
        "<4>[  123.456789] stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0",
        P(
            E.DMESG,
            "stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0",
            uptime_s=123.456789,
            level=4,
        ),
    ),
    "level-alone": (
        "<6>lowmemorykiller: Killing 'com.example' (1234), adj 900",
        P(E.DMESG, "lowmemorykiller: Killing 'com.example' (1234), adj 900", level=6),
    ),
    "level-before-rfc3164": (
        "<4>Nov 25 12:00:00 host kernel: Mem-Info:",
        P(
            E.SYSLOG,
            "Mem-Info:",
            wallclock="2023-11-25T12:00:00",
            host="host",
            level=4,
            program="kernel",
        ),
    ),
    "level-before-dmesg-T": (
        "<6>[Sat Nov 25 12:00:00 2023] oom_reaper: reaped process 1 (x)",
        P(E.DMESG_T, "oom_reaper: reaped process 1 (x)", wallclock="2023-11-25T12:00:00", level=6),
    ),
    "level-with-facility": ("<14>[    5.000000] hello", P(E.DMESG, "hello", uptime_s=5.0, level=6)),
    # ---- not prefixes: kernel text that starts with a bracket or a number
    "task-row": (
        "[ 1234]     0  1234    12345      123       12        0             0 bash",
        P(E.BARE, "[ 1234]     0  1234    12345      123       12        0             0 bash"),
    ),
    "task-header": (
        "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
        P(
            E.BARE,
            "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
        ),
    ),
    "old-task-header": (
        "[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name",
        P(E.BARE, "[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name"),
    ),
    "old-stack-frame": (
        "[<ffffffff81234567>] dump_header+0x7f/0x1f1",
        P(E.BARE, "[<ffffffff81234567>] dump_header+0x7f/0x1f1"),
    ),
    "arm-stack-frame": (
        " [<c0017674>] (unwind_backtrace+0x0/0x108) from [<c041886c>] (dump_stack+0x20/0x24)",
        P(
            E.BARE,
            " [<c0017674>] (unwind_backtrace+0x0/0x108) from [<c041886c>] (dump_stack+0x20/0x24)",
        ),
    ),
    "task-marker": ("<TASK>", P(E.BARE, "<TASK>")),
    "bare-continuation": (" active_file:123", P(E.BARE, " active_file:123")),
    "bare-pages-ram": ("524272 pages RAM", P(E.BARE, "524272 pages RAM")),
    "bare-pagecache": ("405 total pagecache pages", P(E.BARE, "405 total pagecache pages")),
    "bare-drm-tag": ("[drm] Initialized i915 1.6.0", P(E.BARE, "[drm] Initialized i915 1.6.0")),
    "bare-empty": ("", P(E.BARE, "")),
    "bare-indented": (
        "  runc:[2:INIT] invoked oom-killer: gfp_mask=0x500cc2(GFP_HIGHUSER|__GFP_ACCOUNT)",
        P(
            E.BARE,
            "  runc:[2:INIT] invoked oom-killer: gfp_mask=0x500cc2(GFP_HIGHUSER|__GFP_ACCOUNT)",
        ),
    ),
    "bare-rsyslog-copy": (  # an rsyslog line whose prefix someone cut off still needs #012 undone
        "active_anon:7355653 inactive_anon:660960 isolated_anon:0#012 active_file:1263",
        P(E.BARE, "active_anon:7355653 inactive_anon:660960 isolated_anon:0\n active_file:1263"),
    ),
    # ---- dmesg -x
    "dmesg-x": (
        "kern  :warn  : [  123.456789] stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL)",
        P(
            E.DMESG_X,
            "stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL)",
            uptime_s=123.456789,
            level=4,
        ),
    ),
    "dmesg-x-task-header": (
        "kern  :info  : [  123.456790] [  pid  ]   uid  tgid total_vm      rss name",
        P(E.DMESG_X, "[  pid  ]   uid  tgid total_vm      rss name", uptime_s=123.45679, level=6),
    ),
    "dmesg-x-no-time": (
        "kern  :err   : Out of memory: Killed process 1234 (stress)",
        P(E.DMESG_X, "Out of memory: Killed process 1234 (stress)", level=3),
    ),
    "dmesg-x-T": (
        "kern  :warn  : [Sat Nov 25 12:00:00 2023] Mem-Info:",
        P(E.DMESG_X, "Mem-Info:", wallclock="2023-11-25T12:00:00", level=4),
    ),
    # ---- dmesg -T, any locale
    "dmesg-T": (
        "[Sat Nov 25 12:00:00 2023] Mem-Info:",
        P(E.DMESG_T, "Mem-Info:", wallclock="2023-11-25T12:00:00"),
    ),
    "dmesg-T-padded-day": (
        "[Thu Apr  1 16:45:10 2021] anon 314535936",
        P(E.DMESG_T, "anon 314535936", wallclock="2021-04-01T16:45:10"),
    ),
    "dmesg-T-chinese": (
        "[二 9月  3 05:57:48 2024] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null)",
        P(
            E.DMESG_T,
            "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null)",
            wallclock="2024-09-03T05:57:48",
        ),
    ),
    "dmesg-T-japanese": (
        "[月  1月 26 01:49:41 2026] Mem-Info:",
        P(E.DMESG_T, "Mem-Info:", wallclock="2026-01-26T01:49:41"),
    ),
    "dmesg-T-french": (
        "[dim. 19 avril 18:03:30 2026] Mem-Info:",
        P(E.DMESG_T, "Mem-Info:", wallclock="2026-04-19T18:03:30"),
    ),
    "dmesg-T-german": (
        "[Di Aug 12 03:54:03 2025] php-fpm invoked oom-killer: gfp_mask=0x1100cca",
        P(
            E.DMESG_T,
            "php-fpm invoked oom-killer: gfp_mask=0x1100cca",
            wallclock="2025-08-12T03:54:03",
        ),
    ),
    "dmesg-T-german-maerz": (
        "[Mo Mär  4 09:00:00 2024] Mem-Info:",
        P(E.DMESG_T, "Mem-Info:", wallclock="2024-03-04T09:00:00"),
    ),
    "dmesg-T-spanish-tuesday-is-mar": (
        "[mar sep  3 05:57:48 2024] Mem-Info:",
        P(E.DMESG_T, "Mem-Info:", wallclock="2024-09-03T05:57:48"),
    ),
    "dmesg-T-italian": (
        "[gio giu 13 10:11:12 2024] Mem-Info:",
        P(E.DMESG_T, "Mem-Info:", wallclock="2024-06-13T10:11:12"),
    ),
    "dmesg-T-unknown-month": (
        "[Σάβ Νοέ 25 12:00:00 2023] Mem-Info:",
        P(E.DMESG_T, "Mem-Info:"),
    ),
    "dmesg-T-caller": (
        "[Sat Nov 25 12:00:00 2023] [ T1234] Mem-Info:",
        P(E.DMESG_T, "Mem-Info:", wallclock="2023-11-25T12:00:00", caller="T1234"),
    ),
    "dmesg-T-continuation": (
        "[Sat Nov 25 12:00:00 2023]  active_file:1",
        P(E.DMESG_T, " active_file:1", wallclock="2023-11-25T12:00:00"),
    ),
    # ---- dmesg --time-format=iso
    "dmesg-iso": (
        "2023-11-25T12:00:00,123456+01:00 Mem-Info:",
        P(E.DMESG_ISO, "Mem-Info:", wallclock="2023-11-25T12:00:00.123456+01:00"),
    ),
    "dmesg-iso-continuation": (
        "2023-11-25T12:00:00,123456+01:00  active_file:1",
        P(E.DMESG_ISO, " active_file:1", wallclock="2023-11-25T12:00:00.123456+01:00"),
    ),
    # ---- /dev/kmsg records
    "kmsg": (
        "6,30574068,3816544225428,-;memory: usage 20480kB, limit 20480kB, failcnt 136",
        P(
            E.KMSG,
            "memory: usage 20480kB, limit 20480kB, failcnt 136",
            uptime_s=3816544.225428,
            level=6,
        ),
    ),
    "kmsg-caller": (
        "4,1234,5678901,-,caller=T123;stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL)",
        P(
            E.KMSG,
            "stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL)",
            uptime_s=5.678901,
            caller="T123",
            level=4,
        ),
    ),
    "kmsg-newline-escape": (
        "4,22,5000000,c;active_anon:1 inactive_anon:2\\x0a active_file:3",
        P(E.KMSG, "active_anon:1 inactive_anon:2\n active_file:3", uptime_s=5.0, level=4),
    ),
    "kmsg-utf8-run": (
        "6,1,2,-;comm=\\xe4\\xb8\\xad \\xff \\x5cx41",
        P(E.KMSG, "comm=中 \ufffd \\x41", uptime_s=2e-06, level=6),
    ),
    "kmsg-user-facility": (
        "14,7,1000000,-;systemd[1]: hi",
        P(E.KMSG, "systemd[1]: hi", uptime_s=1.0, level=6),
    ),
    # ---- RFC 3164 syslog and journalctl short*
    "syslog": (
        "Nov 25 12:00:00 host kernel: Mem-Info:",
        P(E.SYSLOG, "Mem-Info:", wallclock="2023-11-25T12:00:00", host="host", program="kernel"),
    ),
    "syslog-padded-day": (
        "Jun  4 07:08:09 web-01 kernel: java invoked oom-killer: gfp_mask=0x201da",
        P(
            E.SYSLOG,
            "java invoked oom-killer: gfp_mask=0x201da",
            wallclock="2023-06-04T07:08:09",
            host="web-01",
            program="kernel",
        ),
    ),
    "syslog-fqdn": (
        "Dec 16 08:09:10 box.example.org kernel: lowmem_reserve[]: 0 1024 2048 2048",
        P(
            E.SYSLOG,
            "lowmem_reserve[]: 0 1024 2048 2048",
            wallclock="2023-12-16T08:09:10",
            host="box.example.org",
            program="kernel",
        ),
    ),
    "syslog-no-host-ts": (
        "Jan  5 01:02:03 kernel: [ 4321.000440] hog invoked oom-killer: order=0",
        P(
            E.SYSLOG,
            "hog invoked oom-killer: order=0",
            uptime_s=4321.00044,
            wallclock="2023-01-05T01:02:03",
            program="kernel",
        ),
    ),
    "syslog-empty-host": (
        "Feb 18 17:34:47  kernel: [  123.456789] Mem-Info:",
        P(
            E.SYSLOG,
            "Mem-Info:",
            uptime_s=123.456789,
            wallclock="2023-02-18T17:34:47",
            program="kernel",
        ),
    ),
    "syslog-ts-caller": (
        "Nov 25 12:00:00 host kernel: [12345.678901][ T1234] oom-kill:constraint=CONSTRAINT_NONE",
        P(
            E.SYSLOG,
            "oom-kill:constraint=CONSTRAINT_NONE",
            uptime_s=12345.678901,
            wallclock="2023-11-25T12:00:00",
            host="host",
            caller="T1234",
            program="kernel",
        ),
    ),
    "syslog-ts-task-row": (
        "Nov 25 12:00:00 host kernel: [12345.678901] [ 1234]     0  1234    12345 bash",
        P(
            E.SYSLOG,
            "[ 1234]     0  1234    12345 bash",
            uptime_s=12345.678901,
            wallclock="2023-11-25T12:00:00",
            host="host",
            program="kernel",
        ),
    ),
    "syslog-task-header": (
        "Mar 17 15:43:44 vm-2 kernel: [  pid  ]   uid  tgid total_vm      rss name",
        P(
            E.SYSLOG,
            "[  pid  ]   uid  tgid total_vm      rss name",
            wallclock="2023-03-17T15:43:44",
            host="vm-2",
            program="kernel",
        ),
    ),
    "syslog-old-frame": (
        "Nov 24 09:08:07 db-2 kernel: [<ffffffff81012345>] ? dump_header+0x90/0x1b0",
        P(
            E.SYSLOG,
            "[<ffffffff81012345>] ? dump_header+0x90/0x1b0",
            wallclock="2023-11-24T09:08:07",
            host="db-2",
            program="kernel",
        ),
    ),
    "syslog-continuation": (
        "Nov 25 12:00:00 host kernel:  active_file:1 inactive_file:2",
        P(
            E.SYSLOG,
            " active_file:1 inactive_file:2",
            wallclock="2023-11-25T12:00:00",
            host="host",
            program="kernel",
        ),
    ),
    "syslog-empty-message": (
        "Nov 25 12:00:00 host kernel:",
        P(E.SYSLOG, "", wallclock="2023-11-25T12:00:00", host="host", program="kernel"),
    ),
    "syslog-cron-pid": (
        "Jan  5 01:00:01 CRON[2211]: (root) CMD (run-parts /etc/cron.hourly)",
        P(
            E.SYSLOG,
            "(root) CMD (run-parts /etc/cron.hourly)",
            wallclock="2023-01-05T01:00:01",
            program="CRON",
        ),
    ),
    "syslog-sudo-host": (
        "Nov 25 12:00:00 host sudo[1234]:     root : TTY=pts/0 ; COMMAND=/bin/ls",
        P(
            E.SYSLOG,
            "    root : TTY=pts/0 ; COMMAND=/bin/ls",
            wallclock="2023-11-25T12:00:00",
            host="host",
            program="sudo",
        ),
    ),
    "syslog-path-tag": (
        "Jan  5 01:00:02 /usr/sbin/anacron: Job `cron.daily' started",
        P(
            E.SYSLOG,
            "Job `cron.daily' started",
            wallclock="2023-01-05T01:00:02",
            program="/usr/sbin/anacron",
        ),
    ),
    "syslog-no-tag": (
        "Nov 25 12:00:00 host -- MARK --",
        P(E.SYSLOG, "host -- MARK --", wallclock="2023-11-25T12:00:00"),
    ),
    "syslog-hash-escapes": (
        "Jul 15 03:04:05 db-7 kernel: isolated_anon:0#012 active_file:6371#011x#033[0m#177",
        P(
            E.SYSLOG,
            "isolated_anon:0\n active_file:6371\tx\x1b[0m\x7f",
            wallclock="2023-07-15T03:04:05",
            host="db-7",
            program="kernel",
        ),
    ),
    "syslog-hash-not-control": (
        "Nov 25 12:00:00 host kernel: CPU: 1 PID: 2 Comm: kthreadd Not tainted 4.9.0 #3 #400",
        P(
            E.SYSLOG,
            "CPU: 1 PID: 2 Comm: kthreadd Not tainted 4.9.0 #3 #400",
            wallclock="2023-11-25T12:00:00",
            host="host",
            program="kernel",
        ),
    ),
    "syslog-leap-day-bad-year": (
        "Feb 29 12:00:00 host kernel: Mem-Info:",
        P(E.SYSLOG, "Mem-Info:", host="host", program="kernel"),
    ),
    "syslog-bad-clock": (
        "Nov 25 25:61:00 host kernel: Mem-Info:",
        P(E.SYSLOG, "Mem-Info:", host="host", program="kernel"),
    ),
    "syslog-unknown-month": (
        "Xyz 25 12:00:00 host kernel: Mem-Info:",
        P(E.SYSLOG, "Mem-Info:", host="host", program="kernel"),
    ),
    "journal-short-precise": (
        "Nov 25 12:00:00.123456 host kernel: Mem-Info:",
        P(
            E.SYSLOG,
            "Mem-Info:",
            wallclock="2023-11-25T12:00:00.123456",
            host="host",
            program="kernel",
        ),
    ),
    "journal-short-german": (
        "Mär 17 15:43:44 vm-2 kernel: Tasks state (memory values in pages):",
        P(
            E.SYSLOG,
            "Tasks state (memory values in pages):",
            wallclock="2023-03-17T15:43:44",
            host="vm-2",
            program="kernel",
        ),
    ),
    "journal-short-cjk": (
        "9月 03 05:57:48 node kernel: Mem-Info:",
        P(E.SYSLOG, "Mem-Info:", wallclock="2023-09-03T05:57:48", host="node", program="kernel"),
    ),
    "journal-short-full": (
        "Sat 2023-11-25 12:00:00 CET host kernel: Mem-Info:",
        P(E.SYSLOG, "Mem-Info:", wallclock="2023-11-25T12:00:00", host="host", program="kernel"),
    ),
    "journal-short-full-utc": (
        "Sat 2023-11-25 12:00:00.5 UTC host kernel: Mem-Info:",
        P(
            E.SYSLOG,
            "Mem-Info:",
            wallclock="2023-11-25T12:00:00.5+00:00",
            host="host",
            program="kernel",
        ),
    ),
    "journal-short-unix": (
        "1700910000.123456 host kernel: Mem-Info:",
        P(
            E.SYSLOG,
            "Mem-Info:",
            wallclock="2023-11-25T11:00:00.123456+00:00",
            host="host",
            program="kernel",
        ),
    ),
    "journal-short-monotonic": (
        "[  123.456789] host kernel: Mem-Info:",
        P(E.MONOTONIC, "Mem-Info:", uptime_s=123.456789, host="host", program="kernel"),
    ),
    "journal-short-monotonic-continuation": (
        "[  123.456789] host kernel:  active_file:1",
        P(E.MONOTONIC, " active_file:1", uptime_s=123.456789, host="host", program="kernel"),
    ),
    "journal-short-monotonic-other-program": (
        "[  123.456789] host systemd[1]: Started Session 1 of user root.",
        P(E.DMESG, "host systemd[1]: Started Session 1 of user root.", uptime_s=123.456789),
    ),
    # ---- RFC 3339 rsyslog / journalctl short-iso
    "rfc3339-caller": (
        "2024-01-07T07:06:05.000123+00:00 node-3 kernel: [ 1234.567891][T4242] stress invoked"
        " oom-killer: gfp_mask=0x1100dca(GFP_HIGHUSER_MOVABLE|__GFP_ZERO)",
        P(
            E.RFC3339,
            "stress invoked oom-killer: gfp_mask=0x1100dca(GFP_HIGHUSER_MOVABLE|__GFP_ZERO)",
            uptime_s=1234.567891,
            wallclock="2024-01-07T07:06:05.000123+00:00",
            host="node-3",
            caller="T4242",
            program="kernel",
        ),
    ),
    "rfc3339-reaper-caller": (
        "2024-01-07T07:06:05.900000+00:00 node-3 kernel: [ 1235.400000][   T32] oom_reaper: x",
        P(
            E.RFC3339,
            "oom_reaper: x",
            uptime_s=1235.4,
            wallclock="2024-01-07T07:06:05.900000+00:00",
            host="node-3",
            caller="T32",
            program="kernel",
        ),
    ),
    "short-iso-compact-offset": (
        "2023-11-25T12:00:00+0100 host kernel: Mem-Info:",
        P(
            E.RFC3339,
            "Mem-Info:",
            wallclock="2023-11-25T12:00:00+01:00",
            host="host",
            program="kernel",
        ),
    ),
    "short-iso-zulu": (
        "2023-11-25T12:00:00.123456Z host kernel: Mem-Info:",
        P(
            E.RFC3339,
            "Mem-Info:",
            wallclock="2023-11-25T12:00:00.123456+00:00",
            host="host",
            program="kernel",
        ),
    ),
    # ---- RFC 5424
    "rfc5424": (
        "<4>1 2023-11-25T12:00:00.123Z host kernel - - - Mem-Info:",
        P(
            E.RFC5424,
            "Mem-Info:",
            wallclock="2023-11-25T12:00:00.123+00:00",
            host="host",
            level=4,
            program="kernel",
        ),
    ),
    "rfc5424-structured-data": (
        '<6>1 2023-11-25T12:00:00+01:00 host kernel - - [timeQuality tzKnown="1" isSynced="1"]'
        " oom_reaper: reaped process 1234 (stress)",
        P(
            E.RFC5424,
            "oom_reaper: reaped process 1234 (stress)",
            wallclock="2023-11-25T12:00:00+01:00",
            host="host",
            level=6,
            program="kernel",
        ),
    ),
    "rfc5424-inner-ts-bom": (
        "<4>1 2023-11-25T12:00:00Z host kernel - - - \ufeff[  123.456789] Mem-Info:",
        P(
            E.RFC5424,
            "Mem-Info:",
            uptime_s=123.456789,
            wallclock="2023-11-25T12:00:00+00:00",
            host="host",
            level=4,
            program="kernel",
        ),
    ),
    "rfc5424-nil": ("<14>1 - - - - - - hello", P(E.RFC5424, "hello", level=6)),
    # ---- OpenWrt logread
    "logread": (
        "Wed Jan 14 06:05:04 2026 kern.warn kernel: [ 8765.000111] stress invoked oom-killer:",
        P(
            E.SYSLOG,
            "stress invoked oom-killer:",
            uptime_s=8765.000111,
            wallclock="2026-01-14T06:05:04",
            level=4,
            program="kernel",
        ),
    ),
    "logread-err": (
        "Wed Jan 14 06:05:04 2026 kern.err kernel: [ 8765.000222] Out of memory: Killed process 1",
        P(
            E.SYSLOG,
            "Out of memory: Killed process 1",
            uptime_s=8765.000222,
            wallclock="2026-01-14T06:05:04",
            level=3,
            program="kernel",
        ),
    ),
    "logread-daemon": (
        "Wed Jan 14 06:05:04 2026 daemon.notice netifd: Interface 'wan' is now up",
        P(
            E.SYSLOG,
            "Interface 'wan' is now up",
            wallclock="2026-01-14T06:05:04",
            level=5,
            program="netifd",
        ),
    ),
    # ---- journalctl -o json
    "journal-json": (
        json.dumps(
            {
                "__REALTIME_TIMESTAMP": "1700910000123456",
                "_SOURCE_MONOTONIC_TIMESTAMP": "123456789",
                "_HOSTNAME": "host",
                "SYSLOG_IDENTIFIER": "kernel",
                "PRIORITY": "4",
                "MESSAGE": "active_anon:1 inactive_anon:2\n active_file:3",
            }
        ),
        P(
            E.JOURNAL,
            "active_anon:1 inactive_anon:2\n active_file:3",
            uptime_s=123.456789,
            wallclock="2023-11-25T11:00:00.123456+00:00",
            host="host",
            level=4,
            program="kernel",
        ),
    ),
    "journal-json-bytes": (
        '{"MESSAGE": [77, 101, 109, 255, 10, 32, 120], "SYSLOG_IDENTIFIER": "kernel"}',
        P(E.JOURNAL, "Mem\ufffd\n x", program="kernel"),
    ),
    "json-not-journal": ('{"foo": 1}', P(E.BARE, '{"foo": 1}')),
    "json-broken": ('{"MESSAGE": "x"', P(E.BARE, '{"MESSAGE": "x"')),
    # ---- viewer line numbers
    "line-number-syslog": (
        "4711 Apr 18 10:20:30   kernel: [2345678.000001] bash invoked oom-killer: order=0",
        P(
            E.SYSLOG,
            "bash invoked oom-killer: order=0",
            uptime_s=2345678.000001,
            wallclock="2023-04-18T10:20:30",
            program="kernel",
        ),
    ),
    "line-number-cat-n": (
        "    12\t[  123.456789] Mem-Info:",
        P(E.DMESG, "Mem-Info:", uptime_s=123.456789),
    ),
    "line-number-grep-n": (
        "42:Nov 25 12:00:00 host kernel: Mem-Info:",
        P(E.SYSLOG, "Mem-Info:", wallclock="2023-11-25T12:00:00", host="host", program="kernel"),
    ),
    "number-before-caller-is-text": ("12 [   T32] x", P(E.BARE, "12 [   T32] x")),
    "number-before-level-is-text": ("7 <4>x", P(E.BARE, "7 <4>x")),
    # ---- markdown blockquote
    "quote-syslog": (
        "> Jan 17 03:30:31 nas kernel: sysrq: Manual OOM execution",
        P(
            E.SYSLOG,
            "sysrq: Manual OOM execution",
            wallclock="2023-01-17T03:30:31",
            host="nas",
            program="kernel",
        ),
    ),
    "quote-nested-dmesg": (
        "> > [  123.456789] Mem-Info:",
        P(E.DMESG, "Mem-Info:", uptime_s=123.456789),
    ),
    "quote-empty": (">", P(E.BARE, "")),
    "quote-bare": (">  active_file:1", P(E.BARE, " active_file:1")),
    # ---- hostile and damaged input
    "crlf": ("[  123.456789] Mem-Info:\r", P(E.DMESG, "Mem-Info:", uptime_s=123.456789)),
    "crlf-bare": ("Mem-Info:\r\r", P(E.BARE, "Mem-Info:")),
    "bom": (
        "\ufeffNov 25 12:00:00 host kernel: Mem-Info:",
        P(E.SYSLOG, "Mem-Info:", wallclock="2023-11-25T12:00:00", host="host", program="kernel"),
    ),
    "nul-in-text": ("[  1.000000] a\x00b", P(E.DMESG, "a\x00b", uptime_s=1.0)),
    "nul-first": ("\x00[  1.000000] x", P(E.BARE, "\x00[  1.000000] x")),
    "replacement-chars": (
        "Nov 25 12:00:00 h\ufffdst kernel: caf\ufffd \ufffd",
        P(
            E.SYSLOG,
            "caf\ufffd \ufffd",
            wallclock="2023-11-25T12:00:00",
            host="h\ufffdst",
            program="kernel",
        ),
    ),
    "prefix-inside-text-is-kept": (
        "[  1.000000] Nov 25 12:00:00 host kernel: x",
        P(E.DMESG, "Nov 25 12:00:00 host kernel: x", uptime_s=1.0),
    ),
    "syslog-twice-strips-once": (
        "Nov 25 12:00:00 host kernel: Nov 25 12:00:00 host kernel: x",
        P(
            E.SYSLOG,
            "Nov 25 12:00:00 host kernel: x",
            wallclock="2023-11-25T12:00:00",
            host="host",
            program="kernel",
        ),
    ),
    "uptime-too-long": ("[1234567890123.5] x", P(E.BARE, "[1234567890123.5] x")),
    "unclosed-bracket": ("[  123.456789 Mem-Info:", P(E.BARE, "[  123.456789 Mem-Info:")),
}


@pytest.mark.parametrize(("line", "expected"), list(CASES.values()), ids=list(CASES))
def test_envelopes(line: str, expected: Prefix) -> None:
    assert parse_prefix(line, year=2023) == expected


def test_year_defaults_to_current_year() -> None:
    wallclock = parse_prefix("Nov 25 12:00:00 host kernel: x").wallclock
    assert wallclock == f"{time.localtime().tm_year}-11-25T12:00:00"


def test_year_is_used_for_leap_day() -> None:
    prefix = parse_prefix("Feb 29 12:00:00 host kernel: x", year=2024)
    assert prefix.wallclock == "2024-02-29T12:00:00"


# ------------------------------------------------------------------------------ properties

ENVELOPE_HEADS = [
    "",
    "[  123.456789] ",
    "[  123.456789][ T1] ",
    "[   T32] ",
    "<4>",
    "<4>1 2023-11-25T12:00:00Z host kernel - - ",
    "kern  :warn  : ",
    "[Sat Nov 25 12:00:00 2023] ",
    "2023-11-25T12:00:00,1+01:00 ",
    "6,1,2,-;",
    "Nov 25 12:00:00 host kernel: ",
    "Jan  5 15:19:27 kernel: ",
    "1700910000.1 h k: ",
    "Wed Jan 14 06:05:04 2026 kern.warn kernel: ",
    "> ",
    "4711 Apr 18 10:20:30   kernel: ",
    '{"MESSAGE": ',
]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ENVELOPE_HEADS), st.text(), st.sampled_from(ENVELOPE_HEADS), st.text())
def test_never_raises(head: str, body: str, head2: str, tail: str) -> None:
    line = head + body + head2 + tail
    for year in (None, 0, 2024, 99999):
        prefix = parse_prefix(line, year=year)
        assert isinstance(prefix, Prefix)
        assert isinstance(prefix.text, str)
        assert len(prefix.text) <= len(line)  # removing and decoding only ever shrink
        assert prefix.level is None or 0 <= prefix.level <= 7
        assert prefix.uptime_s is None or prefix.uptime_s >= 0


@given(st.text())
def test_bare_text_is_unchanged(line: str) -> None:
    # Transport damage (CR, BOM, markdown quote) and rsyslog's #012 are undone even on bare lines.
    assume(not line.startswith((">", "\ufeff")) and not line.endswith("\r") and "#012" not in line)
    prefix = parse_prefix(line)
    if prefix.envelope is Envelope.BARE:
        assert prefix == Prefix(envelope=Envelope.BARE, text=line)


KERNEL_TEXT = st.text(st.characters(exclude_characters="\r\n#\\"))


@given(KERNEL_TEXT)
def test_kernel_text_round_trips(text: str) -> None:
    assume(not text.startswith(("[", "<")) and "kernel:" not in text)
    assert parse_prefix(f"[  123.456789] {text}").text == text
    assert parse_prefix(f"Nov 25 12:00:00 host kernel: {text}").text == text
    assert parse_prefix(f"6,1,2,-;{text}").text == text
    assert parse_prefix(f"[Sat Nov 25 12:00:00 2023] {text}").text == text


# ------------------------------------------------------------------------------ huge lines

MB50 = 50_000_000
# Built inside the test, not at import: twelve 50 MB strings would sit in memory for the session.
HUGE: dict[str, tuple[Callable[[], str], Envelope, int | None]] = {
    "bare": (lambda: "a" * MB50, Envelope.BARE, MB50),
    "spaces": (lambda: " " * MB50, Envelope.BARE, MB50),
    "digits": (lambda: "1" * MB50, Envelope.BARE, MB50),
    "brackets": (lambda: "[" * MB50, Envelope.BARE, MB50),
    "levels": (lambda: "<4>" * (MB50 // 3), Envelope.DMESG, MB50 // 3 * 3 - 3),
    "quotes": (lambda: "> " * (MB50 // 2), Envelope.BARE, None),
    "syslog-word": (lambda: "Nov 25 12:00:00 " + "a" * MB50, Envelope.SYSLOG, MB50),
    "syslog-escapes": (
        lambda: "Nov 25 12:00:00 h kernel: " + "x#012" * (MB50 // 5),
        Envelope.SYSLOG,
        MB50 // 5 * 2,
    ),
    "rfc5424-open-sd": (lambda: '<4>1 - h kernel - - [a b="' + "x" * MB50, Envelope.DMESG, None),
    "kmsg": (lambda: "6,1,2,-;" + "x" * MB50 + "\\x0a", Envelope.KMSG, MB50 + 1),
    "json": (lambda: '{"MESSAGE": "' + "x" * MB50 + '"}', Envelope.JOURNAL, MB50),
    "carriage-returns": (lambda: "a" + "\r" * MB50, Envelope.BARE, 1),
}


@pytest.mark.parametrize(("make", "envelope", "length"), list(HUGE.values()), ids=list(HUGE))
def test_huge_lines_take_linear_time(
    make: Callable[[], str], envelope: Envelope, length: int | None
) -> None:
    line = make()
    started = time.perf_counter()
    line.upper()  # a baseline linear pass over the same text, timed in the same load
    baseline = time.perf_counter() - started
    started = time.perf_counter()
    prefix = parse_prefix(line)
    elapsed = time.perf_counter() - started
    assert prefix.envelope is envelope
    if length is not None:
        assert len(prefix.text) == length
    # A few linear passes cost a small multiple of the baseline, however loaded the machine;
    # a quadratic regex over 50 MB would take hours.
    assert elapsed < max(10.0, 100 * baseline)


# ------------------------------------------------------------------------------ real corpus

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def _corpus_events() -> list[Any]:
    if not CORPUS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no shared corpus at {CORPUS}"))]
    cases = []
    for truth_path in sorted(CORPUS.glob("**/*.truth.json")):
        stem = truth_path.name.removesuffix(".truth.json")
        logs = [p for p in truth_path.parent.glob(stem + ".*") if p.suffix in (".log", ".txt")]
        if not logs:
            continue
        for event in json.loads(truth_path.read_text(encoding="utf-8"))["events"]:
            event_id = f"{stem}:{event['first_line']}"
            cases.append(pytest.param((logs[0], event), id=event_id))
    return cases


@pytest.mark.parametrize("case", _corpus_events())
def test_corpus_first_lines(case: tuple[Path, dict[str, Any]]) -> None:
    log, event = case
    lines = log.read_text(encoding="utf-8", errors="replace").split("\n")
    prefix = parse_prefix(lines[event["first_line"] - 1], year=2024)
    if event["uptime_s"] is not None:
        assert prefix.uptime_s == pytest.approx(event["uptime_s"], abs=1e-6)
    if event["clock_hms"] is not None:
        assert prefix.wallclock is not None
        assert prefix.wallclock[11:19] == event["clock_hms"]


LEFTOVER_STAMP = re.compile(
    r"\s*(?:\[\s*\d+\.\d+\]|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d |\d{4}-\d\d-\d\dT)"
)


def test_corpus_lines_lose_their_whole_envelope() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"no shared corpus at {CORPUS}")
    logs = [
        p for p in CORPUS.glob("**/*") if p.suffix in (".log", ".txt") and "LICENSE" not in p.name
    ]
    leftovers = []
    for log in logs:
        for number, line in enumerate(
            log.read_text(encoding="utf-8", errors="replace").split("\n"), 1
        ):
            prefix = parse_prefix(line, year=2024)
            if prefix.envelope is not Envelope.BARE and LEFTOVER_STAMP.match(prefix.text):
                leftovers.append(f"{log.name}:{number}: {prefix.text[:60]!r}")
    assert not leftovers


# --------------------------------------------------------------------------- the fast path


def _fast_and_general(line: str) -> tuple[Any, Any]:
    return prefixes._syslog_kernel(line, 2024), prefixes._from_word(line, 2024)


@settings(max_examples=1000)
@given(
    month=st.sampled_from(["Jan", "Sep", "Dec", "Foo", "Mär", "Sep.", "sep", "SEP"]),
    day=st.sampled_from([" 4", "  4", "24", "4", "124"]),
    clock=st.sampled_from(["23:23:04", "23:23:04.123", "3:23:04", "99:99:99"]),
    host=st.sampled_from(
        ["db2", "kern.warn", "a.b.c", "", "kernel", "x:y", "h[1]", "daemon3.info"]
    ),
    gap=st.sampled_from([" ", "  "]),
    tag=st.sampled_from(["kernel:", "kernel[1]:", "CRON[2]:", "kernel"]),
    uptime=st.sampled_from(
        ["[1.5]", "[  123.456789]", "[1.5 < 0.1>]", "[1.5][T12]", "[1.5] [C3]", "[1.]", "[]", ""]
    ),
    after=st.sampled_from([" ", "  ", "", " [ T7]"]),
    text=st.sampled_from(["x", "[ 1234]     0  1234", "#012y", "[T1] z", "", " lead"]),
)
def test_the_syslog_fast_path_reads_lines_as_the_general_one(
    month: str,
    day: str,
    clock: str,
    host: str,
    gap: str,
    tag: str,
    uptime: str,
    after: str,
    text: str,
) -> None:
    line = f"{month} {day} {clock} {host}{gap}{tag} {uptime}{after}{text}"
    fast, general = _fast_and_general(line)
    assert fast is None or fast == general, line


def test_the_syslog_fast_path_on_the_corpus_and_generated_logs() -> None:
    lines = [
        raw
        for path in sorted(CORPUS.rglob("*.log"))
        for raw in path.read_text(encoding="utf-8", errors="replace").splitlines()
    ]
    rng = random.Random(5)
    report = synth.random_report(rng, era="5.15", kind="oom_kill")
    lines += synth.render(
        report.records(), "syslog", start_uptime=10.0, wallclock=datetime(2024, 5, 1), host="h"
    )
    taken = 0
    for line in lines:
        fast, general = _fast_and_general(line)
        if fast is not None:
            taken += 1
            assert fast == general, line
    assert taken > 100  # the shape is common: the path is taken
