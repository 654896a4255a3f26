"""A pytest plugin (``-p ci_strict``, see pyproject.toml): with ``CI`` set, a skipped test fails.

A skip in CI means something CI should have (a service, a dependency, the shared instances) was
missing, and a green run would hide it. Locally skips stay skips.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

STRICT = bool(os.environ.get("CI"))


def _fail_skip(report: Any, where: str) -> None:
    if not (STRICT and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped in CI ({where}), which counts as a failure: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    _fail_skip(outcome.get_result(), item.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    _fail_skip(outcome.get_result(), collector.nodeid)
