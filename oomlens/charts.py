"""Inline SVG charts for the HTML report, built from the view-model (no script, no fonts,
no external reference). Every text from a log is escaped here, since the result is
inserted as markup. Colours come from CSS classes so that light, dark and print themes
apply."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from .render import (
    RamView,
    RankingView,
    TimelineRow,
    ZoneView,
    format_kib,
)

WIDTH = 720
_LABEL_W = 170
_BAR_H = 18
_GAP = 6


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _svg(title: str, height: int, body: Sequence[str], klass: str) -> Markup:
    title_e = _e(title)
    return Markup(
        f'<svg class="chart {klass}" role="img" aria-label="{title_e}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{title_e}</title>' + "".join(body) + "</svg>"
    )


def ram_chart(ram: RamView | None) -> Markup:
    """Stacked bar: where the memory went (accounting step or Mem-Info counters)."""
    parts = [p for p in ram.parts if p.kib > 0] if ram is not None else []
    if ram is None or not parts:
        return Markup("")
    total = max(ram.total_kib or 0, sum(p.kib for p in parts), 1)
    body: list[str] = []
    x = 0.0
    for part in parts:
        w = WIDTH * part.kib / total
        tip = f"{part.label}: {format_kib(part.kib)}"
        body.append(
            f'<rect class="seg seg-{_e(part.key)}" x="{x:.1f}" y="0" width="{w:.1f}" '
            f'height="28"><title>{_e(tip)}</title></rect>'
        )
        x += w
    # legend, three entries per row
    for i, part in enumerate(parts):
        lx, ly = (i % 3) * (WIDTH / 3), 48 + (i // 3) * 20
        body.append(
            f'<rect class="seg seg-{_e(part.key)}" x="{lx:.1f}" y="{ly - 10}" width="10" '
            f'height="10"/><text x="{lx + 14:.1f}" y="{ly}">{_e(part.label)} '
            f"{_e(format_kib(part.kib))}</text>"
        )
    height = 48 + ((len(parts) + 2) // 3) * 20
    return _svg(f"Where the memory went ({ram.scope})", height, body, "chart-ram")


def tasks_chart(ranking: RankingView | None, top: int = 10) -> Markup:
    """Horizontal bars of the top tasks (badness points, else rss pages); the victim marked."""
    if ranking is None or not ranking.rows:
        return Markup("")
    rows = [r for r in ranking.rows if r.rank is None or r.rank <= top][:top]
    extra = [r for r in ranking.rows if (r.is_victim or r.is_trigger) and r not in rows]
    rows += extra
    by_points = ranking.from_replay

    def metric(r: object) -> int:
        value = getattr(r, "points" if by_points else "rss_pages")
        return value if isinstance(value, int) and value > 0 else 0

    peak = max((metric(r) for r in rows), default=0) or 1
    unit = "points" if by_points else "pages rss"
    body: list[str] = []
    for i, row in enumerate(rows):
        y = i * (_BAR_H + _GAP)
        w = (WIDTH - _LABEL_W - 130) * metric(row) / peak
        klass = "bar victim" if row.is_victim else "bar trigger" if row.is_trigger else "bar"
        name = row.name if len(row.name) <= 22 else row.name[:21] + "…"
        tag = " (killed)" if row.is_victim else " (allocating)" if row.is_trigger else ""
        body.append(
            f'<text x="0" y="{y + 13}">{_e(name)} {row.pid}</text>'
            f'<rect class="{klass}" x="{_LABEL_W}" y="{y}" width="{max(w, 1):.1f}" '
            f'height="{_BAR_H}"><title>{_e(row.name)} pid {row.pid}: {metric(row):,} {unit}'
            f"{_e(tag)}</title></rect>"
            f'<text x="{_LABEL_W + w + 6:.1f}" y="{y + 13}">{metric(row):,} {unit}{_e(tag)}</text>'
        )
    title = "Top tasks by badness" if by_points else "Largest tasks by rss"
    return _svg(title, len(rows) * (_BAR_H + _GAP), body, "chart-tasks")


def zones_chart(zones: Sequence[ZoneView]) -> Markup:
    """Per zone: free memory as a bar, the min/low/high watermarks as ticks."""
    drawn = [z for z in zones if z.free_kib is not None]
    if not drawn:
        return Markup("")
    peak = max(max(z.free_kib or 0, z.min_kib or 0, z.low_kib or 0, z.high_kib or 0) for z in drawn)
    scale = (WIDTH - _LABEL_W - 20) / (peak * 1.05 or 1)
    row_h = 34
    body: list[str] = []
    for i, zone in enumerate(drawn):
        y = i * row_h + 4
        free = zone.free_kib or 0
        klass = "bar low" if zone.below in ("min", "low") else "bar"
        tip = (
            f"{zone.label}: free {format_kib(zone.free_kib)}, min {format_kib(zone.min_kib)}, "
            f"low {format_kib(zone.low_kib)}, high {format_kib(zone.high_kib)}"
        )
        body.append(
            f'<text x="0" y="{y + 13}">{_e(zone.label)}</text>'
            f'<rect class="{klass}" x="{_LABEL_W}" y="{y}" width="{max(free * scale, 1):.1f}" '
            f'height="{_BAR_H}"><title>{_e(tip)}</title></rect>'
        )
        for name, mark in (("min", zone.min_kib), ("low", zone.low_kib), ("high", zone.high_kib)):
            if mark is None:
                continue
            x = _LABEL_W + mark * scale
            body.append(
                f'<line class="mark mark-{name}" x1="{x:.1f}" x2="{x:.1f}" y1="{y - 3}" '
                f'y2="{y + _BAR_H + 3}"/>'
                f'<text class="tick" x="{x + 2:.1f}" y="{y + _BAR_H + 10}">{name}</text>'
            )
    return _svg("Zone free memory against watermarks", len(drawn) * row_h + 8, body, "chart-zones")


def timeline_chart(rows: Sequence[TimelineRow]) -> Markup:
    """Events on a line: by seconds since the first one when comparable, else in order."""
    if len(rows) < 2:
        return Markup("")
    timed = all(r.offset_s is not None for r in rows)
    lo = min((r.offset_s or 0.0) for r in rows) if timed else 0.0
    hi = max((r.offset_s or 0.0) for r in rows) if timed else float(len(rows) - 1)
    span = (hi - lo) or 1.0
    left, right = 40, WIDTH - 40
    body = [f'<line class="axis" x1="{left}" x2="{right}" y1="30" y2="30"/>']
    for i, row in enumerate(rows):
        pos = (row.offset_s or 0.0) - lo if timed else float(i)
        x = left + (right - left) * pos / span
        klass = "dot killed" if row.victim else "dot"
        tip = f"#{row.index} {row.kind}" + (f": {row.victim}" if row.victim else "")
        if row.when:
            tip += f" at {row.when}"
        body.append(
            f'<a href="#{_e(row.anchor)}"><circle class="{klass}" cx="{x:.1f}" cy="30" r="7">'
            f"<title>{_e(tip)}</title></circle>"
            f'<text x="{x:.1f}" y="{14 if i % 2 else 56}" text-anchor="middle">'
            f"{row.index}</text></a>"
        )
    label = f"{hi - lo:,.0f} s from first to last" if timed else "in log order"
    body.append(f'<text class="tick" x="{right}" y="72" text-anchor="end">{_e(label)}</text>')
    return _svg("Timeline of events", 78, body, "chart-timeline")
