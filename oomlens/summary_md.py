"""A short Markdown summary per event (the full report templates live in reports/)."""

from __future__ import annotations

from .model import Analysis, OomEvent


def md_escape(text: object) -> str:
    """Make log text inert in Markdown: no markup, no table breaks, no HTML."""
    value = str(text)
    for char in "\\`*_{}[]()#+!|<>~":
        value = value.replace(char, "\\" + char)
    return value.replace("\r", " ").replace("\n", " ")


def _kib(value: int | None) -> str:
    if value is None:
        return "not printed"
    if value >= 1024 * 1024:
        return f"{value / 1024 / 1024:.1f} GiB"
    if value >= 1024:
        return f"{value / 1024:.1f} MiB"
    return f"{value} KiB"


def _event(index: int, event: OomEvent) -> list[str]:
    when = event.time.wallclock or (
        f"uptime {event.time.uptime_s:.3f} s" if event.time.uptime_s is not None else "time unknown"
    )
    out = [
        f"## Event {index}: {event.kind.value.replace('_', ' ')}",
        "",
        f"- **Where:** `{md_escape(event.source.path)}` lines {event.source.first_line}"
        f"–{event.source.last_line}; {md_escape(when)}"
        + (f"; host {md_escape(event.host)}" if event.host else ""),
    ]
    if event.kernel_release:
        out.append(f"- **Kernel:** {md_escape(event.kernel_release)}")
    trigger = event.trigger
    if trigger.comm or trigger.pid is not None:
        request = f"order {trigger.order}" if trigger.order is not None else "order not printed"
        if trigger.gfp_mask:
            flags = "|".join(trigger.gfp_flags)
            request += f", gfp_mask {trigger.gfp_mask}" + (f" ({flags})" if flags else "")
        out.append(
            f"- **Trigger:** {md_escape(trigger.comm or '?')} (pid {trigger.pid}), "
            f"{md_escape(request)}" + (" — manual (sysrq-f)" if event.manual else "")
        )
    if event.constraint:
        out.append(f"- **Constraint:** {md_escape(event.constraint)}")
    memcg = event.memcg
    if memcg is not None and (memcg.limit_path or memcg.limit_kib is not None):
        out.append(
            f"- **Memory cgroup:** limit hit in {md_escape(memcg.limit_path or '?')}, "
            f"victim in {md_escape(memcg.victim_path or '?')}; usage {_kib(memcg.usage_kib)} "
            f"of {_kib(memcg.limit_kib)}"
        )
    elif memcg is not None and memcg.victim_path:
        out.append(f"- **Victim's cgroup:** {md_escape(memcg.victim_path)}")
    victim = event.victim
    if victim is not None:
        out.append(
            f"- **Killed:** {md_escape(victim.comm or '?')} (pid {victim.pid}): anon "
            f"{_kib(victim.anon_rss_kib)}, file {_kib(victim.file_rss_kib)}, shmem "
            f"{_kib(victim.shmem_rss_kib)}; reaped: {'yes' if event.reaped else 'no'}"
        )
        for extra in event.kills[1:]:
            out.append(f"  - also killed {md_escape(extra.comm or '?')} (pid {extra.pid})")
    else:
        out.append("- **Killed:** nothing")
    if event.swap_total_kib is not None:
        out.append(f"- **Swap:** {_kib(event.swap_free_kib)} free of {_kib(event.swap_total_kib)}")
    if event.tasks is not None:
        out.append(f"- **Task table:** {len(event.tasks)} rows")
    if event.panic:
        out.append(f"- **Panic:** {md_escape(event.panic)}")
    if not event.complete:
        out.append("- *The report is incomplete (header or ending missing from the log).*")
    out.append("")
    return out


def analysis_to_markdown(analysis: Analysis) -> str:
    lines = ["# oomlens report", ""]
    paths = ", ".join(f"`{md_escape(s.path)}` ({s.format})" for s in analysis.sources)
    lines.append(f"Analysed {paths or 'no readable input'}.")
    lines.append("")
    if not analysis.events:
        lines.append("No OOM-related events found.")
        lines.append("")
    else:
        lines.append(f"Found {len(analysis.events)} OOM-related event(s).")
        lines.append("")
    for index, event in enumerate(analysis.events, start=1):
        lines.extend(_event(index, event))
    if analysis.diagnostics:
        lines.append(f"## Diagnostics ({len(analysis.diagnostics)})")
        lines.append("")
        for diagnostic in analysis.diagnostics[:200]:
            where = f"{md_escape(diagnostic.path)}:{diagnostic.line}"
            lines.append(f"- `{where}` {md_escape(diagnostic.message)}")
        lines.append("")
    return "\n".join(lines)
