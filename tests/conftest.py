"""Fixtures shared by every test: real services (S3, RabbitMQ) and the two object stores."""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from common.adapters.storage import LocalStore, S3Store
from sandbox.services import RabbitVhost, SeaweedS3

# Property tests give the same result on a loaded CI machine as on an idle laptop: no per-example
# deadline and no "generation is slow" health check (a busy core is not a bug), and a fixed
# sequence of examples (a failure reproduces). `HYPOTHESIS_PROFILE=explore` searches new random
# examples instead.
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under mutmut (scripts/mutation), the fastest tests first: mutmut names a mutant's tests
    in no set order and stops at the first failure, so a mutant that a unit test tells apart in
    a millisecond was often left to a live-farm test that waits half a minute for its job."""
    if not os.environ.get("MUTANT_UNDER_TEST"):
        return
    try:  # mutmut's measured durations, in its working folder (the tests' root)
        durations = json.loads(Path("mutmut-stats.json").read_text())["duration_by_test"]
    except (OSError, ValueError, KeyError):
        return
    items.sort(key=lambda item: durations.get(item.nodeid, math.inf))


@pytest.fixture(scope="session", autouse=True)
def embedded_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`framefarm render` (in this process or a child) keeps its cache in this run's own folder,
    never in the user's ~/.cache: no test reuses another run's frames."""
    folder = tmp_path_factory.mktemp("embedded-cache")
    before = os.environ.get("FRAMEFARM_CACHE_DIR")
    os.environ["FRAMEFARM_CACHE_DIR"] = str(folder)
    yield folder
    if before is None:
        del os.environ["FRAMEFARM_CACHE_DIR"]
    else:
        os.environ["FRAMEFARM_CACHE_DIR"] = before


@pytest.fixture(scope="session", autouse=True)
def audio_process_stopped() -> Iterator[None]:
    """The soundtrack's worker process (a spawned pool that lives as long as the interpreter)
    ends with the session: a session run by a process that leaves with os._exit (mutmut's
    workers, one per mutant) would otherwise leave it and its resource tracker running."""
    yield
    from stitcher.soundtrack import stop_audio_process

    stop_audio_process()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[SeaweedS3]:
    """One SeaweedFS S3 server for the whole run (fails, never skips, if it cannot start), or
    the one a caller shares with many short runs (``FRAMEFARM_TEST_S3``: scripts/mutation);
    each test makes buckets of its own, so runs side by side do not meet."""
    shared = SeaweedS3.shared()
    if shared is not None:
        yield shared
        return
    with SeaweedS3() as server:
        yield server


@pytest.fixture(scope="session")
def rabbit_url() -> Iterator[str]:
    """The AMQP URL of a vhost of this run's own on the local RabbitMQ."""
    with RabbitVhost() as url:
        yield url


@pytest.fixture
def s3_store(s3_server: SeaweedS3) -> Iterator[S3Store]:
    """An S3Store on a fresh bucket, removed with its objects after the test."""
    store = S3Store(
        s3_server.endpoint,
        s3_server.access_key,
        s3_server.secret_key,
        f"test-{uuid.uuid4().hex}",
    )
    yield store
    # SeaweedFS gives each bucket a volume of its own: free it (it deletes non-empty buckets).
    store.client.remove_bucket(store.bucket)


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    """A LocalStore in the test's temporary directory."""
    return LocalStore(tmp_path / "store")
