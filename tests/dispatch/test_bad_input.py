"""Bad input gets exit 2 and one line naming the field; never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from dispatch_helpers import base_request
from onestop.dispatch.cli import main
from onestop.dispatch.errors import RequestError
from onestop.dispatch.model import parse_request

JOB = {"id": "j1", "kind": "repair", "location": [24.94, 60.18], "duration": 600, "brand": "LG"}


def _with(path: str, value) -> dict:
    """base_request with one field (dotted path, list indices as ints) set."""
    req = base_request(jobs=[dict(JOB), dict(JOB, id="j2")])
    target = req
    parts = [int(p) if p.isdigit() else p for p in path.split(".")]
    for p in parts[:-1]:
        target = target[p]
    if value is _DELETE:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value
    return req


_DELETE = object()

CASES = [
    # unknown job kind
    ("jobs.0.kind", "teleport", "jobs[0].kind"),
    # unknown courier depot
    ("couriers.0.depot", "nowhere", "couriers[0].depot"),
    # unknown technician start depot
    ("technicians.0.start", "nowhere", "technicians[0].start"),
    # duplicate job ids
    ("jobs.1.id", "j1", "jobs[1].id"),
    # window ends before it starts
    ("jobs.0.windows", [["12:00", "10:00"]], "jobs[0].windows[0]"),
    # negative duration
    ("jobs.0.duration", -5, "jobs[0].duration"),
    # non-numeric duration
    ("jobs.0.duration", "ten", "jobs[0].duration"),
    # a number as a string is not a number
    ("jobs.0.duration", "600", "jobs[0].duration"),
    # technician kinds need a duration
    ("jobs.0.duration", _DELETE, "jobs[0].duration"),
    # longitude out of range
    ("jobs.0.location", [200.0, 60.0], "jobs[0].location"),
    # latitude out of range
    ("jobs.0.location", [24.9, 95.0], "jobs[0].location"),
    # not a time
    ("technicians.0.shift", ["8 am", "16:00"], "technicians[0].shift[0]"),
    # hour 25
    ("technicians.0.shift", ["25:00", "26:00"], "technicians[0].shift[0]"),
    # unknown time zone
    ("timezone", "Mars/Olympus", "timezone"),
    # bad date
    ("date", "2026-13-40", "date"),
    # unknown field
    ("jobs.0.colour", "red", "jobs[0].colour"),
    # huge string
    ("jobs.0.id", "x" * 100_000, "jobs[0].id"),
    # negative capacity
    ("couriers.0.capacity", {"volume": -1}, "couriers[0].capacity.volume"),
    # break longer than its window
    (
        "technicians.0.breaks",
        [{"window": ["12:00", "12:10"], "duration": 1800}],
        "technicians[0].breaks[0].window",
    ),
    # unknown priority
    ("jobs.0.priority", "asap", "jobs[0].priority"),
    # jobs is not a list
    ("jobs", {"a": 1}, "jobs"),
    # unknown preset
    ("options.preset", "ultra", "options.preset"),
    # zero time limit
    ("options.time_limit_s", 0, "options.time_limit_s"),
]


@pytest.mark.parametrize(
    ("path", "value", "loc"), CASES, ids=[c[2] + ":" + str(i) for i, c in enumerate(CASES)]
)
def test_parse_request_names_the_field(path, value, loc):
    """Each malformed field raises RequestError naming exactly that field first."""
    with pytest.raises(RequestError) as info:
        parse_request(_with(path, value))
    assert info.value.errors[0].loc == loc, [str(e) for e in info.value.errors]


def test_after_cycle_is_refused():
    """Jobs whose `after` links loop are refused, naming the `after` field."""
    req = base_request(
        jobs=[dict(JOB, id="a", after="b"), dict(JOB, id="b", after="c"), dict(JOB, id="c", after="a")]
    )
    with pytest.raises(RequestError) as info:
        parse_request(req)
    assert info.value.errors[0].loc == "jobs[0].after"
    assert "cycle" in info.value.errors[0].message


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),  # malformed JSON
        (b'{"date": "\xff\xfe"}', "UTF-8"),  # invalid UTF-8
        (b'{"date": NaN}', "NaN"),  # NaN literal
        (b'{"x": Infinity}', "Infinity"),  # Infinity literal
        (b"[" * 100_000 + b"]" * 100_000, "nested"),  # deep nesting
        (b"[1, 2]", "JSON object"),  # not an object
    ],
)
def test_raw_bytes_are_refused_clearly(body, needle):
    """Raw request bytes that are not a JSON object are refused with a clear message."""
    with pytest.raises(RequestError) as info:
        parse_request(body)
    assert needle in str(info.value)


def test_cli_exit_2_with_one_line_naming_the_field(tmp_path: Path, capsys):
    """`onestop solve` on a bad request exits 2 with `error: <field>: <problem>` and no traceback."""
    req = _with("jobs.0.windows", [["12:00", "10:00"]])
    path = tmp_path / "req.json"
    path.write_text(json.dumps(req))
    code = main(["solve", str(path), "-o", str(tmp_path / "plan.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines()[0] == "error: jobs[0].windows[0]: end before start"
    assert "Traceback" not in err
    assert not (tmp_path / "plan.json").exists()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "not found"),  # missing file
        (b"\xff\xfe\x00", "UTF-8"),  # invalid UTF-8
        (b"{", "not valid JSON"),  # truncated JSON
    ],
)
def test_cli_unreadable_request(tmp_path: Path, capsys, content, needle):
    """Missing or unreadable request files exit 2 with one clear line."""
    path = tmp_path / "req.json"
    if content is not None:
        path.write_bytes(content)
    code = main(["solve", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err and "Traceback" not in err


def test_cli_bad_arguments_exit_2(capsys):
    """A bad command-line option exits 2 rather than crashing."""
    assert main(["solve", "x.json", "--time-limit", "-3"]) == 2
    assert "error:" in capsys.readouterr().err


def test_console_script_never_prints_a_traceback(tmp_path: Path):
    """The installed `onestop` command answers bad input with exit 2 and no traceback."""
    path = tmp_path / "req.json"
    path.write_text(json.dumps(_with("jobs.0.kind", "teleport")))
    exe = Path(sys.executable).with_name("onestop")
    proc = subprocess.run([str(exe), "solve", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: jobs[0].kind:")
    assert "Traceback" not in proc.stderr


def test_bad_travel_provider_names_the_option(tmp_path: Path, capsys):
    """An unknown travel provider exits 2 naming options.travel."""
    req = base_request(jobs=[JOB])
    req["options"]["travel"] = {"provider": "teleport"}
    path = tmp_path / "req.json"
    path.write_text(json.dumps(req))
    assert main(["solve", str(path), "-q"]) == 2
    assert "options.travel" in capsys.readouterr().err
