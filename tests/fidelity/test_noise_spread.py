"""The noise-case statistics on samples whose answer is known (no browser needed)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from tests.fidelity.noise_spread import same_process_p, t_quantile, upper_bound


@pytest.mark.parametrize(("p", "dof", "table"), [(0.999, 15, 3.733), (0.975, 10, 2.228)])
def test_the_t_quantile_is_the_tables(p: float, dof: int, table: float) -> None:
    assert abs(t_quantile(p, dof) - table) < 0.02


def test_the_prediction_bound_lets_through_all_but_the_miss() -> None:
    """Log-normal samples of 16: one more value exceeds the 99 % bound about 1 time in 100."""
    rng = np.random.default_rng(5)
    trials = 10_000
    samples = rng.lognormal(0.0, 0.7, size=(trials, 17))
    beyond = sum(row[16] > upper_bound(list(row[:16]), 0.01) for row in samples)
    assert 0.006 < beyond / trials < 0.014


def _distances(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """One metric: how far apart two numbers are."""
    return np.asarray(np.abs(points[None, :, None] - points[None, None, :]), dtype=np.float64)


def test_one_process_is_not_told_apart_and_two_are() -> None:
    rng = np.random.default_rng(2)
    same = [same_process_p(_distances(rng.normal(size=24)), 16, 200)[0] for _ in range(100)]
    assert 0.01 <= np.mean(np.array(same) < 0.05) <= 0.11  # about 5 % below 0.05: p is uniform
    shifted = np.concatenate([rng.normal(size=16), rng.normal(3.0, 1.0, size=8)])
    assert same_process_p(_distances(shifted), 16, 1000)[0] == pytest.approx(1 / 1001)
