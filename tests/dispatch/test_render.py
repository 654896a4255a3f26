"""Route pictures, the HTML page and the text table drawn from a small solved day."""

from __future__ import annotations

import struct

import pytest
from onestop.dispatch.generate import generate_day
from onestop.dispatch.planner import plan_day
from onestop.dispatch.render import render_html, render_plan, route_colours, summary_table


@pytest.fixture(scope="module")
def day():
    request = generate_day(30, 4, time_limit_s=1)
    plan = plan_day(request, preset="fast", time_limit_s=1).plan
    assert plan["routes"] and plan["unassigned"]
    return request, plan


def test_render_plan_writes_png(day, tmp_path):
    """render_plan writes a real PNG of the figure's size and returns its path."""
    request, plan = day
    path = render_plan(request, plan, tmp_path / "sub" / "plan.png")
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1440, 1080)
    assert len(data) > 20_000


def test_render_plan_along_roads(day, tmp_path):
    """A road_paths callable is asked for every route's legs."""
    request, plan = day
    calls = []

    def roads(pts):
        calls.append(len(pts))
        return [[a, [(a[0] + b[0]) / 2, a[1]], b] for a, b in zip(pts, pts[1:], strict=False)]

    render_plan(request, plan, tmp_path / "roads.png", road_paths=roads)
    assert len(calls) == len(plan["routes"])


def test_render_html_is_self_contained(day, tmp_path):
    """The HTML page names every resource, has an inline SVG and loads nothing from the network."""
    request, plan = day
    with open(render_html(request, plan, tmp_path / "plan.html"), encoding="utf-8") as f:
        text = f.read()
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text
    for route in plan["routes"]:
        assert route["resource"] in text
    for u in plan["unassigned"]:
        assert u["job"] in text and u["reason"] in text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text


def test_summary_table_lists_every_route(day):
    """One line per route, a totals line and the unassigned jobs with their reasons."""
    _request, plan = day
    text = summary_table(plan)
    lines = text.splitlines()
    for route in plan["routes"]:
        assert any(line.startswith(route["resource"] + " ") for line in lines)
    assert any(line.startswith("total") for line in lines)
    for u in plan["unassigned"]:
        assert any(u["job"] in line and u["reason"] in line for line in lines)


def test_colours_distinct():
    """Routes get distinct colours, however many there are."""
    for n in (1, 24, 25, 320):
        assert len(set(route_colours(n))) == n
