"""Pictures and tables of a plan: a PNG map, a self-contained HTML page, a text table.

- :func:`render_plan` draws the routes with matplotlib (Agg backend, no display
  needed): one colour per route, depots as squares, customer stops as dots,
  unassigned jobs as red crosses, a legend of resources with their job counts and a
  title with the date and the KPIs. With ``road_paths`` the legs follow the roads.
- :func:`render_html` writes one HTML file a dispatcher can open in a browser with no
  network: an inline SVG of the same map and, per route, a table of its stops.
- :func:`summary_table` is the fixed-width text table the CLI prints.

Everything reads only the v1 request and plan dicts.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["render_html", "render_plan", "route_colours", "summary_table"]

#: Polylines for a list of ``[lon, lat]``: one ``[[lon, lat], ...]`` per consecutive pair.
RoadPaths = Callable[[Sequence[Sequence[float]]], Sequence[Sequence[Sequence[float]]]]

CUSTOMER_STOPS = frozenset({"deliver", "install", "swap", "collect", "visit"})
DEPOT_STYLE = {
    "warehouse": ("#1f2937", "warehouse"),
    "service_center": ("#6b7280", "service centre"),
    "recycling": ("#15803d", "recycling centre"),
}
#: Most routes named one by one in the PNG legend; the rest are summed up in one line.
LEGEND_MAX = 30

_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
    "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d",
    "#31a354", "#756bb1", "#636363", "#6baed6", "#fd8d3c", "#74c476", "#9e9ac8", "#969696",
)  # fmt: skip


def route_colours(n: int) -> list[str]:
    """``n`` distinct colours (a fixed palette, then evenly spread hues), never pure red."""
    if n <= len(_PALETTE):
        return list(_PALETTE[:n])
    import colorsys

    out = []
    for i in range(n):
        h = (0.08 + i * 0.618034) % 1.0  # golden-ratio hues; skip the red band used for crosses
        if h > 0.95 or h < 0.03:
            h = (h + 0.1) % 1.0
        r, g, b = colorsys.hsv_to_rgb(h, 0.75 if i % 2 else 0.95, 0.85 if i % 3 else 0.6)
        out.append(f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}")
    return out


# --- shared helpers ---------------------------------------------------------------


def _hm(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).strftime("%H:%M")
    except ValueError:
        return iso


def _dur(seconds: float) -> str:
    m = round(seconds / 60)
    return f"{m // 60}:{m % 60:02d}"


def _num(v: Any, default: float = 0.0) -> float:
    return float(v) if isinstance(v, int | float) else default


def _kpi_line(plan: dict[str, Any]) -> str:
    s = plan.get("summary", {})
    k = plan.get("kpis", {})
    total = s.get("jobs", k.get("jobs_total", 0))
    planned = s.get("planned", k.get("jobs_planned", 0))
    travel_h = _num(s.get("travel_s", k.get("travel_s"))) / 3600
    km = _num(s.get("distance_m", k.get("distance_m"))) / 1000
    used = s.get("resources_used", len(plan.get("routes", [])))
    return f"planned {planned}/{total} jobs · {used} resources · travel {travel_h:.1f} h · {km:.1f} km"


def _job_locations(request: dict[str, Any]) -> dict[str, list[float]]:
    return {j["id"]: list(j["location"]) for j in request.get("jobs", [])}


def _route_path(route: dict[str, Any]) -> list[list[float]]:
    """Stop locations in order, consecutive repeats dropped (a break stays where it is)."""
    pts: list[list[float]] = []
    for s in route.get("stops", []):
        p = [float(s["location"][0]), float(s["location"][1])]
        if not pts or pts[-1] != p:
            pts.append(p)
    return pts


def _route_lines(route: dict[str, Any], road_paths: RoadPaths | None) -> list[list[float]]:
    pts = _route_path(route)
    if road_paths is None or len(pts) < 2:
        return pts
    line: list[list[float]] = []
    for leg in road_paths(pts):
        for p in leg:
            q = [float(p[0]), float(p[1])]
            if not line or line[-1] != q:
                line.append(q)
    return line or pts


def _customer_points(route: dict[str, Any]) -> list[list[float]]:
    return [list(s["location"]) for s in route.get("stops", []) if s.get("type") in CUSTOMER_STOPS]


def _all_points(request: dict[str, Any], plan: dict[str, Any]) -> list[list[float]]:
    pts = [list(d["location"]) for d in request.get("depots", [])]
    pts += [list(j["location"]) for j in request.get("jobs", [])]
    for r in plan.get("routes", []):
        pts += _route_path(r)
    return pts or [[0.0, 0.0]]


def _legend_label(route: dict[str, Any]) -> str:
    kind = route.get("resource_kind", "")
    jobs = route.get("summary", {}).get("jobs", 0)
    return f"{route['resource']} ({kind or '?'}) · {jobs} job{'s' if jobs != 1 else ''}"


# --- PNG ------------------------------------------------------------------------


def render_plan(
    request: dict[str, Any],
    plan: dict[str, Any],
    path: str | Path,
    *,
    road_paths: RoadPaths | None = None,
    dpi: int = 120,
) -> str:
    """Draw the plan's routes as a PNG map and return the path written.

    Parameters
    ----------
    request, plan
        The v1 request and the plan made for it.
    path
        Where to write the PNG (parent folders are created).
    road_paths
        Optional callable: a list of ``[lon, lat]`` → one polyline per consecutive pair,
        e.g. ``lambda pts: geodata.road_paths(model, pts)``; legs are straight otherwise.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    routes = plan.get("routes", [])
    colours = route_colours(len(routes))
    fig = Figure(figsize=(12, 9), dpi=dpi)
    ax = fig.add_subplot(1, 1, 1)
    handles = []
    for route, colour in zip(routes, colours, strict=True):
        line = _route_lines(route, road_paths)
        if line:
            xs, ys = zip(*line, strict=True)
            ax.plot(xs, ys, "-", color=colour, linewidth=1.4, alpha=0.85, zorder=2)
        cust = _customer_points(route)
        if cust:
            xs, ys = zip(*cust, strict=True)
            ax.scatter(xs, ys, s=22, color=colour, edgecolors="white", linewidths=0.5, zorder=4)
        start = route.get("stops", [{}])[0].get("location")
        if start and route.get("resource_kind") == "technician":
            ax.scatter(
                [start[0]],
                [start[1]],
                marker="^",
                s=36,
                color=colour,
                edgecolors="black",
                linewidths=0.5,
                zorder=5,
            )
        handles.append(Line2D([], [], color=colour, marker="o", markersize=4, label=_legend_label(route)))
    if len(handles) > LEGEND_MAX:
        rest = routes[LEGEND_MAX:]
        n_jobs = sum(r.get("summary", {}).get("jobs", 0) for r in rest)
        handles = handles[:LEGEND_MAX] + [
            Line2D([], [], color="none", label=f"+ {len(rest)} more routes · {n_jobs} jobs")
        ]
    for kind, (colour, label) in DEPOT_STYLE.items():
        deps = [d for d in request.get("depots", []) if d.get("kind") == kind]
        if deps:
            xs = [d["location"][0] for d in deps]
            ys = [d["location"][1] for d in deps]
            ax.scatter(xs, ys, marker="s", s=110, color=colour, edgecolors="white", linewidths=1.2, zorder=6)
            for d in deps:
                ax.annotate(
                    d["id"],
                    (d["location"][0], d["location"][1]),
                    xytext=(5, 5),
                    textcoords="offset points",
                    fontsize=7,
                    color=colour,
                    zorder=7,
                )
            handles.append(
                Line2D(
                    [],
                    [],
                    color=colour,
                    marker="s",
                    linestyle="none",
                    markersize=8,
                    label=f"{label} ({len(deps)})",
                )
            )
    locs = _job_locations(request)
    un = [u for u in plan.get("unassigned", []) if u.get("job") in locs]
    if un:
        xs = [locs[u["job"]][0] for u in un]
        ys = [locs[u["job"]][1] for u in un]
        ax.scatter(xs, ys, marker="x", s=60, color="#dc2626", linewidths=2.0, zorder=8)
        handles.append(
            Line2D(
                [],
                [],
                color="#dc2626",
                marker="x",
                linestyle="none",
                markersize=8,
                markeredgewidth=2,
                label=f"unassigned ({len(un)})",
            )
        )
    pts = _all_points(request, plan)
    mid_lat = sum(p[1] for p in pts) / len(pts)
    ax.set_aspect(1 / max(0.05, math.cos(math.radians(mid_lat))), adjustable="datalim")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.grid(True, linewidth=0.3, alpha=0.5)
    ax.ticklabel_format(useOffset=False)
    ax.set_title(f"OneStop plan {plan.get('date', request.get('date', ''))}\n{_kpi_line(plan)}", fontsize=11)
    ncol = 1 if len(handles) <= 18 else 2
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, ncol=ncol, frameon=False
    )
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return str(out)


# --- HTML -----------------------------------------------------------------------


def _svg(
    request: dict[str, Any], plan: dict[str, Any], road_paths: RoadPaths | None, width: int = 960
) -> str:
    pts = _all_points(request, plan)
    lons = [p[0] for p in pts]
    lats = [p[1] for p in pts]
    lon0, lon1, lat0, lat1 = min(lons), max(lons), min(lats), max(lats)
    kx = math.cos(math.radians((lat0 + lat1) / 2))
    span_x = max((lon1 - lon0) * kx, 1e-6)
    span_y = max(lat1 - lat0, 1e-6)
    pad = 24
    scale = (width - 2 * pad) / span_x
    height = int(span_y * scale + 2 * pad)
    if height > width * 1.2:
        scale = (width * 1.2 - 2 * pad) / span_y
        height = int(span_y * scale + 2 * pad)

    def xy(p: Sequence[float]) -> tuple[float, float]:
        return (
            round(pad + (p[0] - lon0) * kx * scale, 1),
            round(height - pad - (p[1] - lat1 + span_y) * scale, 1),
        )

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="route map">',
        f'<rect width="{width}" height="{height}" fill="#f8fafc"/>',
    ]
    routes = plan.get("routes", [])
    for route, colour in zip(routes, route_colours(len(routes)), strict=True):
        rid = html.escape(str(route["resource"]))
        line = _route_lines(route, road_paths)
        parts.append(
            f'<g class="route" data-resource="{rid}"><title>{html.escape(_legend_label(route))}</title>'
        )
        if len(line) >= 2:
            d = " ".join(f"{x},{y}" for x, y in map(xy, line))
            parts.append(
                f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="1.8" '
                'stroke-opacity="0.85"/>'
            )
        for s in route.get("stops", []):
            if s.get("type") in CUSTOMER_STOPS:
                x, y = xy(s["location"])
                tip = html.escape(
                    f"{s.get('job')} {s['type']} {_hm(s.get('start'))}-{_hm(s.get('end'))} ({rid})"
                )
                parts.append(
                    f'<circle cx="{x}" cy="{y}" r="3.5" fill="{colour}" stroke="white" '
                    f'stroke-width="0.8"><title>{tip}</title></circle>'
                )
        parts.append("</g>")
    for d in request.get("depots", []):
        colour, label = DEPOT_STYLE.get(d.get("kind", ""), ("#000", "depot"))
        x, y = xy(d["location"])
        tip = html.escape(f"{d['id']} {label} {d.get('name') or ''}")
        parts.append(
            f'<rect x="{x - 6}" y="{y - 6}" width="12" height="12" fill="{colour}" stroke="white">'
            f"<title>{tip}</title></rect>"
        )
        parts.append(
            f'<text x="{x + 8}" y="{y - 6}" font-size="10" fill="{colour}">{html.escape(d["id"])}</text>'
        )
    locs = _job_locations(request)
    for u in plan.get("unassigned", []):
        if u.get("job") in locs:
            x, y = xy(locs[u["job"]])
            tip = html.escape(f"{u['job']} unassigned: {u.get('reason')} {u.get('detail', '')}")
            parts.append(
                f'<g stroke="#dc2626" stroke-width="2.2"><title>{tip}</title>'
                f'<line x1="{x - 5}" y1="{y - 5}" x2="{x + 5}" y2="{y + 5}"/>'
                f'<line x1="{x - 5}" y1="{y + 5}" x2="{x + 5}" y2="{y - 5}"/></g>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#111827}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 6px}
.kpi{color:#374151;margin-bottom:12px}
table{border-collapse:collapse;font-size:13px;margin:4px 0 12px}
th,td{border-bottom:1px solid #e5e7eb;padding:3px 8px;text-align:left;white-space:nowrap}
th{background:#f3f4f6} td.n{text-align:right;font-variant-numeric:tabular-nums}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
tr.brk td{color:#6b7280;font-style:italic} tr.dep td{color:#374151}
.map{border:1px solid #e5e7eb;display:inline-block}
"""


def render_html(
    request: dict[str, Any],
    plan: dict[str, Any],
    path: str | Path,
    *,
    road_paths: RoadPaths | None = None,
) -> str:
    """Write a self-contained HTML page (inline SVG map, per-route stop tables); return its path."""
    e = html.escape
    routes = plan.get("routes", [])
    colours = route_colours(len(routes))
    jobs = {j["id"]: j for j in request.get("jobs", [])}
    date = plan.get("date", request.get("date", ""))
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>OneStop plan {e(str(date))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>OneStop plan {e(str(date))}</h1>",
        f'<div class="kpi">{e(_kpi_line(plan))}</div>',
        f'<div class="map">{_svg(request, plan, road_paths)}</div>',
        "<h2>Routes</h2>",
        "<pre>" + e(summary_table(plan)) + "</pre>",
    ]
    for route, colour in zip(routes, colours, strict=True):
        s = route.get("summary", {})
        rid = str(route["resource"])
        out.append(
            f'<h2 id="route-{e(rid)}"><span class="sw" style="background:{colour}"></span>'
            f"{e(rid)} · {e(route.get('resource_kind', ''))} · {s.get('jobs', 0)} jobs · "
            f"{_hm(s.get('start'))}–{_hm(s.get('end'))} · travel {_dur(_num(s.get('travel_s')))} · "
            f"{_num(s.get('distance_m')) / 1000:.1f} km</h2>"
        )
        out.append(
            "<table><tr><th>#</th><th>stop</th><th>job</th><th>kind</th><th>arrival</th><th>start</th>"
            "<th>end</th><th>travel</th><th>km</th><th>load</th><th>place</th></tr>"
        )
        for i, st in enumerate(route.get("stops", [])):
            job = jobs.get(st.get("job") or "")
            cls = (
                "brk"
                if st.get("type") == "break"
                else ("dep" if st.get("type") not in CUSTOMER_STOPS else "")
            )
            load = ", ".join(f"{k} {v}" for k, v in (st.get("load") or {}).items() if v)
            place = st.get("depot") or (job.get("notes") if job else "") or ""
            out.append(
                f'<tr class="{cls}"><td class="n">{i}</td><td>{e(st.get("type", ""))}</td>'
                f"<td>{e(st.get('job') or '')}</td><td>{e(job['kind'] if job else '')}</td>"
                f"<td>{_hm(st.get('arrival'))}</td><td>{_hm(st.get('start'))}</td><td>{_hm(st.get('end'))}</td>"
                f'<td class="n">{_dur(_num(st.get("travel_s")))}</td>'
                f'<td class="n">{_num(st.get("distance_m")) / 1000:.1f}</td>'
                f"<td>{e(load)}</td><td>{e(str(place))}</td></tr>"
            )
        out.append("</table>")
    un = plan.get("unassigned", [])
    out.append(f"<h2>Unassigned ({len(un)})</h2>")
    if un:
        out.append("<table><tr><th>job</th><th>kind</th><th>reason</th><th>detail</th></tr>")
        for u in un:
            job = jobs.get(u.get("job", ""))
            out.append(
                f"<tr><td>{e(str(u.get('job')))}</td><td>{e(job['kind'] if job else '')}</td>"
                f"<td>{e(str(u.get('reason')))}</td><td>{e(str(u.get('detail', '')))}</td></tr>"
            )
        out.append("</table>")
    out.append("</body></html>")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(out), encoding="utf-8")
    return str(target)


# --- text -----------------------------------------------------------------------


def _peak_load(route: dict[str, Any]) -> str:
    """The most a route carries at once, per dimension, in the request's own units."""
    peak: dict[str, float] = {}
    for st in route.get("stops", []):
        for d, v in (st.get("load") or {}).items():
            if isinstance(v, int | float):
                peak[d] = max(peak.get(d, 0), v)
    return ", ".join(f"{d} {v:g}" for d, v in sorted(peak.items()) if v)


def summary_table(plan: dict[str, Any]) -> str:
    """A fixed-width table: one line per route, totals, then unassigned jobs with reasons."""
    head = ("resource", "kind", "jobs", "start–end", "travel", "km", "util %", "peak load")
    rows: list[tuple[str, ...]] = []
    for r in plan.get("routes", []):
        s = r.get("summary", {})
        rows.append(
            (
                str(r.get("resource", "")),
                str(r.get("resource_kind", "")),
                str(s.get("jobs", 0)),
                f"{_hm(s.get('start'))}–{_hm(s.get('end'))}",
                _dur(_num(s.get("travel_s"))),
                f"{_num(s.get('distance_m')) / 1000:.1f}",
                f"{100 * _num(s.get('utilisation')):.0f}",
                _peak_load(r),
            )
        )
    tot = plan.get("summary", {})
    k = plan.get("kpis", {})
    total = (
        "total",
        f"{len(rows)} used",
        f"{tot.get('planned', k.get('jobs_planned', 0))}/{tot.get('jobs', k.get('jobs_total', 0))}",
        "",
        _dur(_num(tot.get("travel_s", k.get("travel_s")))),
        f"{_num(tot.get('distance_m', k.get('distance_m'))) / 1000:.1f}",
        f"{100 * _num(k.get('utilisation')):.0f}" if "utilisation" in k else "",
        "",
    )
    widths = [max(len(x[i]) for x in (head, total, *rows)) for i in range(len(head))]
    right = {2, 4, 5, 6}

    def fmt(row: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [fmt(head), rule, *(fmt(r) for r in rows), rule, fmt(total)]
    un = plan.get("unassigned", [])
    if un:
        lines.append("")
        lines.append(f"unassigned ({len(un)}):")
        jw = max(len(str(u.get("job", ""))) for u in un)
        rw = max(len(str(u.get("reason", ""))) for u in un)
        for u in un:
            detail = str(u.get("detail", ""))
            job, reason = str(u.get("job", "")), str(u.get("reason", ""))
            lines.append(f"  {job.ljust(jw)}  {reason.ljust(rw)}  {detail}".rstrip())
    warnings = plan.get("warnings") or []
    if warnings:
        lines += ["", f"warnings ({len(warnings)}):", *(f"  {w}" for w in warnings)]
    return "\n".join(lines)
