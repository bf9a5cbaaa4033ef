"""The statistics behind "within Tone's own run-to-run spread", for the noise-driven audio cases.

Two questions, both answered from distances between renderings (``test_audio_reference``):

- one run: is our export's distance to Tone's runs one that one more Tone run could have?
  :func:`upper_bound` is the one-sided prediction bound of Tone's leave-one-out distances;
- the process: are several of our draws (project seeds) and Tone's runs (Math.random seeds)
  samples of one random process? :func:`same_process_p` is a permutation test on the energy
  distance. A single draw cannot tell a PluckSynth with resonance 0.9 from an unlucky Tone run
  (each note's level is a random burst); eight draws can.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import numpy.typing as npt


def t_quantile(p: float, dof: int) -> float:
    """Student's t quantile (Cornish-Fisher from the normal; 3.721 against the table's 3.733 at
    15 dof, p = 0.999): the prediction bound needs it, and scipy is no dependency of ours."""
    z = statistics.NormalDist().inv_cdf(p)
    return z + (z**3 + z) / (4 * dof) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * dof**2)


def upper_bound(values: list[float], miss: float) -> float:
    """The one-sided (1 - ``miss``) prediction bound for one more value like ``values``.

    Log-normal: these are positive distances with a long upper tail (a Pluck run whose two
    bursts both fall loud sits 4 dB from the rest).
    """
    logs = [math.log(max(v, 1e-9)) for v in values]
    n = len(logs)
    spread = statistics.stdev(logs) * t_quantile(1 - miss, n - 1) * math.sqrt(1 + 1 / n)
    return math.exp(statistics.fmean(logs) + spread)


def _energy(
    distances: npt.NDArray[np.float64], a: npt.NDArray[np.intp], b: npt.NDArray[np.intp]
) -> npt.NDArray[np.float64]:
    """Energy distance of groups ``a`` and ``b`` per metric: 2 E|a-b| - E|a-a'| - E|b-b'|."""
    cross = distances[:, a][:, :, b].mean(axis=(1, 2))
    within_a = distances[:, a][:, :, a].sum(axis=(1, 2)) / (len(a) * (len(a) - 1))
    within_b = distances[:, b][:, :, b].sum(axis=(1, 2)) / (len(b) * (len(b) - 1))
    return np.asarray(2 * cross - within_a - within_b, dtype=np.float64)


def same_process_p(
    distances: npt.NDArray[np.float64], first: int, permutations: int, seed: int = 0
) -> npt.NDArray[np.float64]:
    """Per metric, the permutation p-value that items ``:first`` and ``first:`` share a process.

    ``distances`` is (metrics, n, n), symmetric, zero on the diagonal. The groups' energy
    distance is set against its values over random relabellings (seeded: the test repeats).
    """
    n = distances.shape[1]
    observed = _energy(distances, np.arange(first), np.arange(first, n))
    rng = np.random.default_rng(seed)
    as_large = np.zeros(distances.shape[0])
    for _ in range(permutations):
        order = rng.permutation(n)
        as_large += _energy(distances, order[:first], order[first:]) >= observed - 1e-12
    return np.asarray((1 + as_large) / (1 + permutations), dtype=np.float64)
