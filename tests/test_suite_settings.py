"""The suite's own settings: property tests run the same on a loaded machine as on an idle one."""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def test_property_tests_have_no_deadline_and_a_fixed_sequence() -> None:
    active = settings.default  # the "ci" profile, loaded by tests/conftest.py
    assert active is not None
    assert active.deadline is None
    assert active.derandomize is True
    assert active.database is None
    assert HealthCheck.too_slow in active.suppress_health_check
