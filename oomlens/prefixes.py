"""Recognise and strip the envelope that log tools put in front of kernel text.

One physical line in, one :class:`~oomlens.model.Prefix` out.  These shapes occur in real logs
(``shared/docs/kernel-oom-format.md`` §8) and are layered, e.g. a markdown quote around a syslog
line whose message still holds the kernel timestamp and caller id::

    [  123.456789] text                                     raw dmesg, console, vmcore-dmesg
    [ 9421.982946][T10521] text    [   T32] text            CONFIG_PRINTK_CALLER
    <4>[  123.456789] text                                  dmesg -r, /proc/kmsg
    kern  :warn  : [  123.456789] text                     dmesg -x
    [Sat Nov 25 12:00:00 2023] text                         dmesg -T, any locale
    2023-11-25T12:00:00,123456+01:00 text                   dmesg --time-format=iso
    6,30574067,3816544225424,-;text                         /dev/kmsg record
    Jun  4 17:19:10 host kernel: [ 5864.708440] text        RFC 3164 syslog, journalctl -o short
    2024-01-07T17:53:49.053424+00:00 host kernel: text      rsyslog RFC 3339, short-iso
    <4>1 2023-11-25T12:00:00.123Z host kernel - - - text    RFC 5424
    Wed Jan 14 16:50:34 2026 kern.warn kernel: text         OpenWrt logread
    Sat 2023-11-25 12:00:00 CET host kernel: text           journalctl -o short-full
    1700910000.123456 host kernel: text                     journalctl -o short-unix
    [  123.456789] host kernel: text                        journalctl -o short-monotonic
    {"MESSAGE": "text", "__REALTIME_TIMESTAMP": ...}        journalctl -o json
    166233 Apr 18 00:37:34   kernel: text                   viewer line number in front
    > Jan 17 13:30:31 LolbraaNAS kernel: text               markdown blockquote

Whatever the envelope does not own is kept: continuation lines start with a space
(`` active_file:1263``) and task rows with a bracket (``[ 1234]     0  1234 ...``), so the
parser strips exactly one separator space and only brackets of the timestamp/caller shapes.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from oomlens.fastinit import positional
from oomlens.model import Envelope, Prefix

__all__ = ["parse_prefix"]

_LEVELS = {
    "emerg": 0,
    "alert": 1,
    "crit": 2,
    "err": 3,
    "warn": 4,
    "warning": 4,
    "notice": 5,
    "info": 6,
    "debug": 7,
}

# Month names as strftime prints them (%b and %B, lower case, without a trailing dot) in the
# locales we have seen or expect: English, German, French, Spanish, Italian, Portuguese, Dutch,
# Russian.  Numeric CJK months ("9月", "9월") are read by _CJK_MONTH instead.
_MONTH_WORDS = {
    1: "jan january janv janvier jän januar jänner ene enero gen gennaio janeiro januari янв",
    2: "feb february févr fevr février fevrier februar febrero febbraio fev fevereiro februari фев",
    3: "mar march mars märz mär mrz marzo março maart mrt мар",
    4: "apr april avr avril abr abril aprile апр",
    5: "may mai mayo mag maggio maio mei мая май",
    6: "jun june juin juni junio giu giugno junho июн",
    7: "jul july juil juillet juli julio lug luglio julho июл",
    8: "aug august août aout ago agosto augustus авг",
    9: "sep sept september septembre septiembre set settembre setembro сен",
    10: "oct october octobre okt oktober octubre ott ottobre out outubro окт",
    11: "nov november novembre noviembre novembro ноя",
    12: "dec december déc décembre decembre dez dezember dic diciembre dicembre dezembro дек",
}
_MONTHS = {word: month for month, words in _MONTH_WORDS.items() for word in words.split()}
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_TWO_DIGITS = tuple(f"{n:02d}" for n in range(32))

# Envelopes that carry a clock; a leading number is a viewer's line number only before these.
_CLOCKED = frozenset(
    {
        Envelope.SYSLOG,
        Envelope.RFC3339,
        Envelope.RFC5424,
        Envelope.DMESG_T,
        Envelope.DMESG_ISO,
        Envelope.MONOTONIC,
    }
)
# What a bare "<4>" may stand in front of (the level is then taken from it).
_LEVEL_WRAPPABLE = frozenset({Envelope.SYSLOG, Envelope.RFC3339, Envelope.DMESG_T})

# All patterns are ASCII (\d is 0-9, \s is ASCII space); letters of localised month and
# weekday names are matched with the scoped (?u:...) flag.  Every repetition in a prefix
# is bounded so that a 50 MB line costs one linear scan at most.

# <4>[  123.456789][ T1234] : printk level, timestamp (with dmesg -d delta) and caller id.
_KERNEL = re.compile(
    r"""
    (?:<(?P<pri>\d{1,3})>)?
    (?:\[\ {0,12}(?P<sec>\d{1,12})\.(?P<frac>\d{1,9})
        (?:\ <\ {0,12}\d{1,12}\.\d{1,9}>)?
    \])?
    (?:(?(sec)\ ?)\[\ {0,12}(?P<caller>[TC]\d{1,10})\])?
    (?:(?<=\])\ )?
    """,
    re.A | re.X,
)
# What may follow a wall-clock bracket: caller id, then the one separator space.
_AFTER_CLOCK = re.compile(r"(?:\ ?\[\ {0,12}(?P<caller>[TC]\d{1,10})\])?\ ?", re.A | re.X)
_CLOCK_BRACKET = re.compile(r"\[(?P<clock>[^\[\]\n]{5,64})\]")
_HMS = re.compile(r"(?<!\d)\d{1,2}:\d\d:\d\d(?!\d)", re.A)
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)", re.A)
_DAY = re.compile(r"(?<![\d:])(\d{1,2})(?![\d:月월])", re.A)
_CJK_MONTH = re.compile(r"(?<!\d)(\d{1,2})\s?[月월]", re.A)
_LETTERS = re.compile(r"[^\W\d_]+")
# dmesg -e: "[Nov25 12:00]" opens a minute, "[  +0.000123]" lines follow it.
_RELTIME = re.compile(
    r"\[(?:\ {0,12}\+\d{1,12}\.\d{1,9}|(?u:[^\W\d_]{3,5})\.?\ ?\d{1,2}\ \d\d:\d\d)\]"
)
# journalctl -o short-monotonic: "[  123.456789] host kernel: text" (host may be absent).
_MONOTONIC_TAIL = re.compile(r"(?:(?P<host>[^\s\[\]:]{1,255})\ )?kernel:(?:\ |\Z)", re.A)

# "host tag[pid]: " after a syslog time stamp.  The host is absent ("Jan  5 15:19:27 kernel:"),
# empty ("Feb 18 17:34:47  kernel:") or an FQDN; OpenWrt logread puts "kern.warn" before the
# tag.  Possessive host and tag: no backtracking into them, whatever the line holds.
_LEVEL_NAMES = "emerg|alert|crit|err|warning|warn|notice|info|debug"
_TAIL = re.compile(
    rf"""
    (?:(?![a-z]{{2,8}}[0-7]?\.(?:{_LEVEL_NAMES})\ )(?P<host>[^\s\[\]:]{{0,255}}+)\ {{1,16}})?
    (?:[a-z]{{2,8}}[0-7]?\.(?P<lvl>{_LEVEL_NAMES})\ {{1,16}})?
    (?P<tag>[^\s\[\]:]{{1,128}}+)(?:\[[^\]\s]{{0,16}}\])?:(?:\ |\Z)
    """,
    re.A | re.X,
)
_MONTH_TOKEN = r"(?P<mon>(?u:[^\W\d_]{3,5})\.?|\d{1,2}[月월])"
_TIME = r"(?P<hms>\d\d:\d\d:\d\d)"
_ISO_STAMP = (
    r"(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)[T\ ]" + _TIME + r"(?:(?P<sep>[.,])(?P<frac>\d{1,9}))?"
    r"(?P<tz>Z|[+-]\d\d(?::?\d\d)?)?"
)
_RFC3164 = re.compile(
    _MONTH_TOKEN + r"\ {1,2}(?P<d>\d{1,2})\ " + _TIME + r"(?:\.(?P<frac>\d{1,9}))?\ ", re.A
)
_LOGREAD = re.compile(
    r"(?u:[^\W\d_]{2,4})\.?\ "
    + _MONTH_TOKEN
    + r"\ {1,2}(?P<d>\d{1,2})\ "
    + _TIME
    + r"\ (?P<y>\d{4})\ ",
    re.A,
)
_SHORT_FULL = re.compile(
    r"(?u:[^\W\d_]{2,4})\.?\ (?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)\ "
    + _TIME
    + r"(?:\.(?P<frac>\d{1,9}))?\ (?P<tz>\S{1,32})\ ",
    re.A,
)
_ISO = re.compile(_ISO_STAMP + r"\ ", re.A)
_UNIX = re.compile(r"(?P<sec>\d{9,12})\.(?P<frac>\d{1,9})\ ", re.A)
_RFC5424 = re.compile(
    r"<(?P<pri>\d{1,3})>\d{1,2}\ (?:-|" + _ISO_STAMP + r")"
    r"\ (?P<host>\S{1,255})\ (?P<app>\S{1,48})\ \S{1,128}\ \S{1,32}"
    # STRUCTURED-DATA: "-" or [id key="value" ...] elements; values may hold \" and \].
    r"\ (?:-|(?:\[(?:[^\]\"\\]|\\.|\"(?:[^\"\\]|\\.){0,2048}\"){0,2048}\]){1,32})(?:\ |\Z)",
    re.A | re.S,
)
_KMSG = re.compile(
    r"(?P<pri>\d{1,3}),\d{1,20},(?P<usec>\d{1,20}),[^,;]{0,8}(?P<fields>(?:,[^,;]{0,64}){0,8});",
    re.A,
)
_KMSG_CALLER = re.compile(r",caller=([TC]\d{1,10})", re.A)
_DMESG_X = re.compile(
    r"(?:kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|res[0-3]|local[0-7])"
    r"\ {0,8}:(?P<lvl>emerg|alert|crit|err|warn|notice|info|debug)\ {0,8}:\ ?",
    re.A,
)
_CALLER = re.compile(r"\[\ {0,12}(?P<caller>[TC]\d{1,10})\]\ ?", re.A)
_LINE_NUMBER = re.compile(r"[\ \t]{0,12}\d{1,12}(?:[\ \t]{1,16}|:)", re.A)
_QUOTE = re.compile(r">(?:\ ?>){0,32}\ ?")
_OFFSET = re.compile(r"([+-]\d\d):?(\d\d)?", re.A)

# rsyslog writes control characters as '#' and three octal digits ("#012" is a newline).
_HASH_ESCAPE = re.compile(r"#(0[0-3][0-7]|177)")
_HASH_CHARS = {f"{code:03o}": chr(code) for code in (*range(32), 127)}
# /dev/kmsg writes unprintable bytes as \xNN; a run may be one UTF-8 character.
_HEX_RUN = re.compile(r"(?:\\x[0-9a-fA-F][0-9a-fA-F])+")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_prefix(line: str, *, year: int | None = None) -> Prefix:
    """Split one physical log line into its envelope fields and the kernel text.

    ``year`` completes time stamps that omit it (``Nov 25 12:00:00`` in RFC 3164 syslog and
    journalctl ``-o short``); None means the current year.  A line with no envelope comes back
    as ``Envelope.BARE`` with its text untouched (a trailing ``\\r``, a leading markdown ``> ``
    and, when the line holds ``#012``, rsyslog's control-character escapes are still undone).
    Never raises.
    """
    try:
        return _parse(line, year)
    except Exception:  # the contract is "never raise": one odd line must not end a scan
        return Prefix(envelope=Envelope.BARE, text=line)


def _parse(line: str, year: int | None) -> Prefix:
    if line.endswith("\r"):  # CRLF files
        line = line.rstrip("\r")
    if line.startswith("\ufeff"):  # first line of a file saved with a BOM
        line = line[1:]
    if line.startswith(">") and (quote := _QUOTE.match(line)) is not None:
        line = line[quote.end() :]  # markdown blockquote, any depth
    prefix = _envelope(line, year, numbered=True)
    if prefix is not None:
        return prefix
    if "#012" in line:  # an rsyslog line whose prefix a person removed (OOMAnalyser's rhel7)
        line = _unhash(line)
    return Prefix(envelope=Envelope.BARE, text=line)


def _envelope(line: str, year: int | None, *, numbered: bool) -> Prefix | None:
    """Dispatch on the first character: most kernel text fails after one comparison."""
    head = line[:1]
    if head == "[":
        return _from_bracket(line)
    if head == "<":
        return _from_angle(line, year)
    if head == "{":
        return _from_json(line)
    if "0" <= head <= "9":
        prefix = _from_digits(line, year)
        if prefix is None and numbered:
            prefix = _from_line_number(line, year)
        return prefix
    if head.isalpha():
        return _syslog_kernel(line, year) or _from_word(line, year)
    if numbered and (head == " " or head == "\t"):  # "cat -n" right-aligns its numbers
        return _from_line_number(line, year)
    return None


def _from_bracket(line: str) -> Prefix | None:
    """``[  123.456789] text``, ``[   T32] text``, short-monotonic, dmesg -T and -e."""
    m = _KERNEL.match(line)
    if m is not None and (m["sec"] is not None or m["caller"] is not None):
        uptime = _uptime(m)
        if uptime is not None and m["caller"] is None:
            tail = _MONOTONIC_TAIL.match(line, m.end())
            if tail is not None:
                return Prefix(
                    envelope=Envelope.MONOTONIC,
                    text=line[tail.end() :],
                    uptime_s=uptime,
                    host=tail["host"],
                    program="kernel",
                )
        return Prefix(
            envelope=Envelope.DMESG, text=line[m.end() :], uptime_s=uptime, caller=m["caller"]
        )
    clock = _clock_bracket(line, 0)
    if clock is None:
        return None
    end, envelope, wallclock, caller = clock
    return Prefix(envelope=envelope, text=line[end:], wallclock=wallclock, caller=caller)


def _clock_bracket(line: str, pos: int) -> tuple[int, Envelope, str | None, str | None] | None:
    """A wall-clock bracket at ``pos``: (end, envelope, wallclock, caller).

    ``[Sat Nov 25 12:00:00 2023]``, ``[二 9月  3 05:57:48 2024]``,
    ``[dim. 19 avril 18:03:30 2026]``: strftime output in the reader's locale, so any bracket
    holding HH:MM:SS and a four-digit year is dmesg -T; its wallclock is None when the month
    name is unknown.
    """
    m = _CLOCK_BRACKET.match(line, pos)
    if m is not None:
        is_clock, wallclock = _dmesg_t_clock(m["clock"])
        if is_clock:
            after = _AFTER_CLOCK.match(line, m.end())
            assert after is not None  # every part of it is optional
            return after.end(), Envelope.DMESG_T, wallclock, after["caller"]
    m = _RELTIME.match(line, pos)
    if m is not None:  # dmesg -e: no date and no uptime, but the prefix is still not kernel text
        after = _AFTER_CLOCK.match(line, m.end())
        assert after is not None
        envelope = Envelope.DMESG if "+" in m[0] else Envelope.DMESG_T
        return after.end(), envelope, None, after["caller"]
    return None


@functools.lru_cache(maxsize=256)  # consecutive lines share their stamp
def _dmesg_t_clock(content: str) -> tuple[bool, str | None]:
    """(is it a dmesg -T stamp, its wallclock) for the text between the brackets."""
    hms = _HMS.search(content)
    year = _YEAR.search(content)
    if hms is None or year is None:
        return False, None
    cjk = _CJK_MONTH.search(content)
    if cjk is not None:
        month: int | None = int(cjk[1])
    else:
        # The weekday comes first, so the last known name is the month (Spanish "mar sep  3").
        names = [_MONTHS.get(word.lower()) for word in _LETTERS.findall(content)]
        month = next((n for n in reversed(names) if n is not None), None)
    day = _DAY.search(content)
    if month is None or day is None:
        return True, None
    return True, _iso(int(year[1]), month, int(day[1]), hms[0].zfill(8))


def _from_angle(line: str, year: int | None) -> Prefix | None:
    """``<4>1 2023-11-25T12:00:00Z host kernel - - - text`` (RFC 5424) or ``<4>[ 1.5] text``."""
    m = _RFC5424.match(line)
    if m is not None:
        text = line[m.end() :]
        if text.startswith("\ufeff"):  # RFC 5424 marks UTF-8 messages with a BOM
            text = text[1:]
        app = None if m["app"] == "-" else m["app"]
        uptime = caller = None
        if app == "kernel":
            uptime, caller, end = _inner_kernel(text, 0)
            text = text[end:]
        return Prefix(
            envelope=Envelope.RFC5424,
            text=_unhash(text),
            uptime_s=uptime,
            wallclock=_iso_match(m) if m["y"] is not None else None,
            host=None if m["host"] == "-" else m["host"],
            caller=caller,
            level=int(m["pri"]) & 7,
            program=app,
        )
    k = _KERNEL.match(line)
    if k is None or k["pri"] is None:
        return None  # "<TASK>" and other kernel text
    level = int(k["pri"]) & 7
    if k["sec"] is None and k["caller"] is None:
        # "<4>Nov 25 12:00:00 host kernel: text" (RFC 3164 as sent), "<4>[Sat Nov 25 ...] text";
        # one level deep only, so "<4><4><4>..." cannot recurse.
        rest = line[k.end() :]
        inner = None if rest.startswith("<") else _envelope(rest, year, numbered=False)
        if inner is not None and inner.envelope in _LEVEL_WRAPPABLE:
            return dataclasses.replace(inner, level=level)
    return Prefix(
        envelope=Envelope.DMESG,
        text=line[k.end() :],
        uptime_s=_uptime(k),
        caller=k["caller"],
        level=level,
    )


def _from_digits(line: str, year: int | None) -> Prefix | None:
    """/dev/kmsg records, ISO time stamps, short-unix, and CJK-month journalctl short."""
    m = _KMSG.match(line)
    if m is not None:
        caller = _KMSG_CALLER.search(m["fields"])
        return Prefix(
            envelope=Envelope.KMSG,
            text=_unhex(line[m.end() :]),
            uptime_s=int(m["usec"]) / 1e6,
            caller=caller[1] if caller is not None else None,
            level=int(m["pri"]) & 7,
        )
    m = _ISO.match(line)
    if m is not None:
        wallclock = _iso_match(m)
        if m["sep"] != ",":  # dmesg --time-format=iso is the only one with a decimal comma
            prefix = _syslog_tail(line, m.end(), Envelope.RFC3339, wallclock, required=True)
            if prefix is not None:
                return prefix
        c = _CALLER.match(line, m.end())
        end = m.end() if c is None else c.end()
        return Prefix(
            envelope=Envelope.DMESG_ISO,
            text=line[end:],
            wallclock=wallclock,
            caller=None if c is None else c["caller"],
        )
    m = _UNIX.match(line)
    if m is not None:
        wallclock = _epoch_iso(int(m["sec"]), m["frac"])
        return _syslog_tail(line, m.end(), Envelope.SYSLOG, wallclock, required=True)
    m = _RFC3164.match(line)  # journalctl short in a CJK locale: "9月 03 05:57:48 host kernel:"
    if m is not None:
        return _rfc3164(line, m, year)
    return None


# The commonest envelope, "Nov 25 12:00:00 host kernel: [  123.456789] text", in one match.
# Only what _from_word reads the same way matches (an English month, no fraction, one space
# after the host, a host not shaped like a level, an uptime with no delta or caller id);
# a test compares the two on the corpus and on generated lines.
_SYSLOG_KERNEL = re.compile(
    rf"(?P<stamp>[A-Z][a-z]{{2}}\ {{1,2}}\d{{1,2}}\ \d\d:\d\d:\d\d\ )"
    rf"(?![a-z]{{2,8}}[0-7]?\.(?:{_LEVEL_NAMES})\ )(?P<host>[^\s\[\]:]{{1,255}})\ kernel:\ "
    r"\[\ {0,12}(?P<uptime>\d{1,12}\.\d{1,9})\](?!\ ?\[\ {0,12}[TC]\d{1,10}\])\ ",
    re.A,
)


def _syslog_kernel(line: str, year: int | None) -> Prefix | None:
    """``_from_word``'s answer for the commonest syslog kernel line, or None for any other."""
    m = _SYSLOG_KERNEL.match(line)
    if m is None:
        return None
    wallclock = _rfc3164_clock(m["stamp"], time.localtime().tm_year if year is None else year)
    if wallclock is None:  # not a month (or a date) the general reader knows: let it say
        return None
    text = _unhash(line[m.end() :])
    return _syslog_kernel_prefix(
        Envelope.SYSLOG, text, float(m["uptime"]), wallclock, m["host"], "kernel"
    )


_syslog_kernel_prefix = positional(
    Prefix, ("envelope", "text", "uptime_s", "wallclock", "host", "program")
)


def _from_word(line: str, year: int | None) -> Prefix | None:
    """RFC 3164 / journalctl short, OpenWrt logread, journalctl short-full, dmesg -x."""
    m = _RFC3164.match(line)
    if m is not None:
        return _rfc3164(line, m, year)
    m = _LOGREAD.match(line)
    if m is not None:
        wallclock = _iso(int(m["y"]), _month(m["mon"]), int(m["d"]), m["hms"])
        return _syslog_tail(line, m.end(), Envelope.SYSLOG, wallclock, required=False)
    m = _SHORT_FULL.match(line)
    if m is not None:
        return _syslog_tail(line, m.end(), Envelope.SYSLOG, _iso_match(m), required=False)
    m = _DMESG_X.match(line)
    if m is not None:
        return _dmesg_x(line, m)
    return None


def _dmesg_x(line: str, m: re.Match[str]) -> Prefix:
    """``kern  :warn  : [  123.456789] text``; the time part may be -T style or absent."""
    level = _LEVELS[m["lvl"]]
    pos = m.end()
    k = _KERNEL.match(line, pos)
    if k is not None and (k["sec"] is not None or k["caller"] is not None):
        return Prefix(
            envelope=Envelope.DMESG_X,
            text=line[k.end() :],
            uptime_s=_uptime(k),
            caller=k["caller"],
            level=level,
        )
    clock = _clock_bracket(line, pos)
    if clock is not None:
        end, _, wallclock, caller = clock
        return Prefix(
            envelope=Envelope.DMESG_X,
            text=line[end:],
            wallclock=wallclock,
            caller=caller,
            level=level,
        )
    return Prefix(envelope=Envelope.DMESG_X, text=line[pos:], level=level)


def _rfc3164(line: str, m: re.Match[str], year: int | None) -> Prefix | None:
    if year is None:
        year = time.localtime().tm_year
    wallclock = _rfc3164_clock(m[0], year)
    return _syslog_tail(line, m.end(), Envelope.SYSLOG, wallclock, required=False)


@functools.lru_cache(maxsize=256)  # consecutive lines share their stamp
def _rfc3164_clock(stamp: str, year: int) -> str | None:
    m = _RFC3164.match(stamp)
    assert m is not None  # stamp is what _RFC3164 matched
    return _iso(year, _month(m["mon"]), int(m["d"]), m["hms"], m["frac"])


def _syslog_tail(
    line: str, pos: int, envelope: Envelope, wallclock: str | None, *, required: bool
) -> Prefix | None:
    """``host tag[pid]: text`` after a syslog time stamp; kernel messages may keep ``[ts]``."""
    m = _TAIL.match(line, pos)
    if m is None:
        if required:
            return None
        # A syslog stamp without a recognisable tag ("-- MARK --"): not kernel text either.
        return Prefix(envelope=envelope, text=_unhash(line[pos:]), wallclock=wallclock)
    program = m["tag"]
    end = m.end()
    uptime = caller = None
    if program == "kernel":
        uptime, caller, end = _inner_kernel(line, end)
    return Prefix(
        envelope=envelope,
        text=_unhash(line[end:]),
        uptime_s=uptime,
        wallclock=wallclock,
        host=m["host"] or None,
        caller=caller,
        level=_LEVELS[m["lvl"]] if m["lvl"] is not None else None,
        program=program,
    )


def _inner_kernel(line: str, pos: int) -> tuple[float | None, str | None, int]:
    """``[12345.678901][T123] `` that klogd/imklog leave inside a syslog message at ``pos``."""
    k = _KERNEL.match(line, pos)
    if k is None or (k["sec"] is None and k["caller"] is None):
        return None, None, pos
    return _uptime(k), k["caller"], k.end()


def _from_line_number(line: str, year: int | None) -> Prefix | None:
    """``166233 Apr 18 00:37:34   kernel: ...``: a viewer's line number before a clocked envelope.

    Only a clocked envelope makes the number a line number: ``524272 pages RAM`` is kernel text.
    """
    m = _LINE_NUMBER.match(line)
    if m is None:
        return None
    prefix = _envelope(line[m.end() :], year, numbered=False)
    if prefix is None or (prefix.uptime_s is None and prefix.envelope not in _CLOCKED):
        return None
    return prefix


def _from_json(line: str) -> Prefix | None:
    """A ``journalctl -o json`` record: one JSON object per line with a MESSAGE field."""
    if not line.rstrip().endswith("}") or '"MESSAGE"' not in line:
        return None
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or "MESSAGE" not in record:
        return None
    text = _journal_text(record["MESSAGE"])
    if text is None:
        return None
    realtime = _journal_int(record.get("__REALTIME_TIMESTAMP"))
    monotonic = _journal_int(record.get("_SOURCE_MONOTONIC_TIMESTAMP"))
    priority = _journal_int(record.get("PRIORITY"))
    return Prefix(
        envelope=Envelope.JOURNAL,
        text=text,
        uptime_s=monotonic / 1e6 if monotonic is not None else None,
        wallclock=(
            _epoch_iso(realtime // 1_000_000, f"{realtime % 1_000_000:06d}")
            if realtime is not None
            else None
        ),
        host=_journal_str(record.get("_HOSTNAME")),
        level=priority if priority is not None and priority <= 7 else None,
        program=_journal_str(record.get("SYSLOG_IDENTIFIER")),
    )


def _journal_text(value: Any) -> str | None:
    """MESSAGE is a string, or a list of byte values when it is not valid UTF-8."""
    if isinstance(value, str):
        return value
    if value is None:  # journalctl prints null for fields over its size limit
        return ""
    if isinstance(value, list):
        try:
            return bytes(value).decode("utf-8", "replace")
        except (TypeError, ValueError):
            return None
    return None


def _journal_int(value: Any) -> int | None:
    """journalctl writes numbers as decimal strings ("1700910000123456")."""
    if isinstance(value, str) and 0 < len(value) <= 20 and value.isascii() and value.isdigit():
        return int(value)
    return None


def _journal_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# ------------------------------------------------------------------------------ time values


def _uptime(m: re.Match[str]) -> float | None:
    """The ``sec.frac`` of a _KERNEL match, as printed ("  9421.982946" -> 9421.982946)."""
    if m["sec"] is None:
        return None
    return float(m.string[m.start("sec") : m.end("frac")])


def _month(token: str) -> int | None:
    """``Nov``, ``Mär``, ``févr.``, ``9月`` -> month number; None for names we do not know."""
    if token[-1] in "月월":
        return int(token[:-1])
    return _MONTHS.get(token.rstrip(".").lower())


def _iso_match(m: re.Match[str]) -> str | None:
    """Wallclock of an ``_ISO_STAMP`` match: decimal comma to dot, ``+0100``/``Z`` to ``+01:00``."""
    return _iso(int(m["y"]), int(m["mo"]), int(m["d"]), m["hms"], m["frac"], m["tz"])


def _iso(
    year: int,
    month: int | None,
    day: int,
    hms: str,
    frac: str | None = None,
    tz: str | None = None,
) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM]``, or None when the fields are not a date.

    ``hms`` is the printed ``HH:MM:SS``; it is reused as is (formatting ints costs more than
    the regex match on this hot path).
    """
    if month is None or not (1 <= year <= 9999 and 1 <= month <= 12):
        return None
    if not 1 <= day <= _DAYS_IN_MONTH[month] or hms[:2] > "23" or hms[3] > "5" or hms[6] > "5":
        return None
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return None
    text = f"{year:04d}-{_TWO_DIGITS[month]}-{_TWO_DIGITS[day]}T{hms}"
    if frac:
        text += "." + frac[:6]
    if tz:
        if tz == "Z":
            text += "+00:00"
        else:
            offset = _OFFSET.fullmatch(tz)
            if offset is not None:
                text += f"{offset[1]}:{offset[2] or '00'}"
            elif tz in ("UTC", "GMT", "UT"):  # journalctl short-full prints zone names
                text += "+00:00"
    return text


def _epoch_iso(seconds: int, frac: str | None) -> str | None:
    """Seconds since the epoch (short-unix, journal JSON) as UTC wallclock."""
    try:
        moment = _EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        return None
    return _iso(moment.year, moment.month, moment.day, f"{moment:%H:%M:%S}", frac, "Z")


# ------------------------------------------------------------------------------ escapes


def _unhash(text: str) -> str:
    """rsyslog ``#012`` -> newline, ``#011`` -> tab (control characters only)."""
    if "#" not in text:
        return text
    # str.replace for the two that matter runs at C speed; the regex only for the rare rest.
    text = text.replace("#012", "\n").replace("#011", "\t")
    if "#0" not in text and "#177" not in text:
        return text
    return _HASH_ESCAPE.sub(lambda m: _HASH_CHARS[m[1]], text)


def _unhex(text: str) -> str:
    """/dev/kmsg ``\\x0a`` -> newline; a run of escapes is decoded as UTF-8."""
    if "\\x" not in text:
        return text
    return _HEX_RUN.sub(
        lambda m: bytes.fromhex(m[0].replace("\\x", "")).decode("utf-8", "replace"), text
    )
