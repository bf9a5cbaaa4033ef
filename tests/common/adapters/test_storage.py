"""Both object stores keep one contract; S3 runs against a real SeaweedFS server."""

from __future__ import annotations

import os
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from common.adapters.storage import (
    LocalStore,
    ObjectNotFound,
    ObjectStore,
    S3Store,
    StorageError,
    make_store,
)
from common.config import ServiceSettings
from common.errors import InvalidInput
from common.jobs.keys import JobKeys, job_id_of, new_job_id
from sandbox.services import SeaweedS3, free_ports


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest) -> ObjectStore:
    """Each contract test runs once on the local directory and once on the S3 server."""
    backend: ObjectStore = request.getfixturevalue(f"{request.param}_store")
    return backend


@pytest.mark.parametrize(
    "data", [b"", b"hello", os.urandom(5 * 1024 * 1024)], ids=["empty", "small", "5MB"]
)
def test_put_then_get_returns_the_same_bytes(store: ObjectStore, data: bytes) -> None:
    store.put("jobs/a/blob.bin", data)
    assert store.get("jobs/a/blob.bin") == data


def test_put_replaces_what_was_there(store: ObjectStore) -> None:
    store.put("jobs/a/spec.json", b"first, and longer than the second")
    store.put("jobs/a/spec.json", b"second")
    assert store.get("jobs/a/spec.json") == b"second"
    assert store.size("jobs/a/spec.json") == len(b"second")


def test_missing_key_raises_object_not_found(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFound):
        store.get("jobs/a/missing")
    with pytest.raises(ObjectNotFound):
        store.size("jobs/a/missing")
    with pytest.raises(ObjectNotFound):
        store.get_file("jobs/a/missing", tmp_path / "missing")


def test_exists_and_size(store: ObjectStore) -> None:
    assert not store.exists("jobs/a/frame.png")
    store.put("jobs/a/frame.png", b"12345")
    assert store.exists("jobs/a/frame.png")
    assert store.size("jobs/a/frame.png") == 5
    assert not store.exists("jobs/a")  # a "directory" is not an object


def test_list_is_sorted_and_prefix_exact(store: ObjectStore) -> None:
    for key in ["jobs/ab/y", "jobs/a/x", "other/z", "jobs/a/deep/w", "jobs/a/b"]:
        store.put(key, b".")
    assert store.list("jobs/a/") == ["jobs/a/b", "jobs/a/deep/w", "jobs/a/x"]
    assert store.list("jobs/") == ["jobs/a/b", "jobs/a/deep/w", "jobs/a/x", "jobs/ab/y"]
    assert store.list("jobs/a") == store.list("jobs/")  # a string prefix, not a directory
    assert store.list("nothing/") == []


def test_delete_is_idempotent(store: ObjectStore) -> None:
    store.put("jobs/a/x", b"x")
    store.delete("jobs/a/x")
    assert not store.exists("jobs/a/x")
    store.delete("jobs/a/x")
    store.delete("never/was/here")


def test_delete_prefix_counts_and_spares_other_prefixes(store: ObjectStore) -> None:
    for key in ["jobs/a/x", "jobs/a/frames/f1", "jobs/a/frames/f2", "jobs/ab/y"]:
        store.put(key, b".")
    assert store.delete_prefix("jobs/a/") == 3
    assert store.list("jobs/") == ["jobs/ab/y"]
    assert store.delete_prefix("jobs/a/") == 0


def test_put_file_and_get_file_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "source.mp4"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    store.put_file("jobs/a/output/video.mp4", source, content_type="video/mp4")
    assert store.size("jobs/a/output/video.mp4") == source.stat().st_size

    target = tmp_path / "copy.mp4"
    store.get_file("jobs/a/output/video.mp4", target)
    assert target.read_bytes() == source.read_bytes()


@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "a/../b"])
def test_invalid_keys_are_refused(store: ObjectStore, key: str, tmp_path: Path) -> None:
    local_file = tmp_path / "file"
    local_file.write_bytes(b"data")
    operations: dict[str, Callable[[], object]] = {
        "put": lambda: store.put(key, b"data"),
        "put_file": lambda: store.put_file(key, local_file),
        "get": lambda: store.get(key),
        "get_file": lambda: store.get_file(key, tmp_path / "out"),
        "exists": lambda: store.exists(key),
        "size": lambda: store.size(key),
        "delete": lambda: store.delete(key),
    }
    accepted = []
    for name, operation in operations.items():
        try:
            operation()
        except ObjectNotFound:
            accepted.append(name)  # looked the key up instead of refusing it
        except StorageError:
            continue
        else:
            accepted.append(name)
    assert accepted == [], f"{key!r} was not refused by {accepted}"
    assert not (tmp_path / "x").exists()  # "../x" of the local store, had it escaped


@pytest.fixture
def public_store(s3_server: SeaweedS3, s3_store: S3Store) -> S3Store:
    """The same bucket, with links presigned for the name browsers use (``localhost``, where
    the store itself is reached at 127.0.0.1)."""
    public = f"http://localhost:{s3_server.endpoint.rsplit(':', 1)[1]}"
    keys = (s3_server.access_key, s3_server.secret_key)
    return S3Store(
        s3_server.endpoint, *keys, s3_store.bucket, create_bucket=False, public_endpoint=public
    )


def test_presigned_url_refuses_invalid_keys(public_store: S3Store) -> None:
    with pytest.raises(StorageError, match="invalid object key"):
        public_store.presigned_url("a/../b", timedelta(minutes=1))


def test_presigned_url_names_the_public_endpoint_and_downloads_the_object(
    public_store: S3Store,
) -> None:
    public_store.put("jobs/a/output/video.mp4", b"not really a video", content_type="video/mp4")

    url = public_store.presigned_url("jobs/a/output/video.mp4", timedelta(minutes=5))
    assert url is not None and url.startswith("http://localhost:"), url
    assert "127.0.0.1" not in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"not really a video"

    named = public_store.presigned_url(
        "jobs/a/output/video.mp4", timedelta(minutes=5), filename="My Song.mp4"
    )
    assert named is not None
    with urllib.request.urlopen(named, timeout=10) as response:
        assert response.read() == b"not really a video"
        assert response.headers["Content-Disposition"] == 'attachment; filename="My Song.mp4"'


def test_without_a_public_endpoint_s3_makes_no_link(s3_store: S3Store) -> None:
    """The internal host means nothing to a browser: the coordinator streams instead."""
    s3_store.put("jobs/a/output/video.mp4", b"video")
    assert s3_store.presigned_url("jobs/a/output/video.mp4", timedelta(minutes=5)) is None


def test_stream_gives_the_object_in_blocks(store: ObjectStore) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    store.put("jobs/a/output/video.mp4", data)
    blocks = list(store.stream("jobs/a/output/video.mp4"))
    assert len(blocks) >= 2 and b"".join(blocks) == data
    with pytest.raises(ObjectNotFound):
        list(store.stream("jobs/a/output/missing.mp4"))


def test_local_store_has_no_presigned_url(local_store: LocalStore) -> None:
    local_store.put("jobs/a/output/video.mp4", b"video")
    assert local_store.presigned_url("jobs/a/output/video.mp4", timedelta(minutes=5)) is None


def test_wrong_secret_key_is_refused(s3_server: SeaweedS3, s3_store: S3Store) -> None:
    with pytest.raises(StorageError, match="SignatureDoesNotMatch"):
        S3Store(s3_server.endpoint, s3_server.access_key, "wrong-secret", s3_store.bucket)

    impostor = S3Store(
        s3_server.endpoint,
        s3_server.access_key,
        "wrong-secret",
        s3_store.bucket,
        create_bucket=False,
    )
    with pytest.raises(StorageError, match="SignatureDoesNotMatch"):
        impostor.put("jobs/a/x", b"x")
    assert not s3_store.exists("jobs/a/x")


def test_ping_answers(store: ObjectStore) -> None:
    store.ping()


def test_ping_gives_up_on_an_unreachable_server() -> None:
    (closed_port,) = free_ports(1)
    store = S3Store(f"127.0.0.1:{closed_port}", "key", "secret", "bucket", create_bucket=False)
    # Refused connections end the ping (a generous bound only catches a hang, not slowness).
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        with pytest.raises(StorageError, match="unreachable"):
            pool.submit(store.ping).result(timeout=120)
    finally:
        pool.shutdown(wait=False)


def test_concurrent_puts_all_land(store: ObjectStore) -> None:
    payloads = {f"jobs/a/frames/frame_{i:06d}.png": os.urandom(64 * 1024) for i in range(64)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda item: store.put(*item), payloads.items()))
    assert store.list("jobs/a/frames/") == sorted(payloads)
    for key, data in payloads.items():
        assert store.get(key) == data


def test_concurrent_overwrites_leave_one_whole_object(store: ObjectStore) -> None:
    versions = [bytes([i]) * (256 * 1024) for i in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda data: store.put("jobs/a/status.json", data), versions))
    assert store.get("jobs/a/status.json") in versions


def test_make_store_uses_s3_when_an_endpoint_is_set(
    s3_server: SeaweedS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = f"make-store-{uuid.uuid4().hex}"  # the server may be shared (scripts/mutation)
    store = make_store(s3_server.settings(bucket))
    assert isinstance(store, S3Store)
    store.put("jobs/a/x", b"via settings")

    for name, value in s3_server.env(bucket).items():
        monkeypatch.setenv(name, value)
    from_env = make_store(ServiceSettings())
    assert isinstance(from_env, S3Store)
    assert from_env.get("jobs/a/x") == b"via settings"
    from_env.client.remove_bucket(from_env.bucket)


def test_make_store_falls_back_to_a_local_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRAMEFARM_S3_ENDPOINT", raising=False)
    monkeypatch.setenv("FRAMEFARM_LOCAL_STORE", str(tmp_path / "local"))
    store = make_store(ServiceSettings())
    assert isinstance(store, LocalStore)
    assert store.root == (tmp_path / "local").resolve()


@pytest.mark.parametrize("job_id", ["../etc", "A", "x" * 65, "", "abc/defgh"])
def test_bad_job_ids_are_refused_naming_the_field(job_id: str) -> None:
    with pytest.raises(InvalidInput, match="job_id") as caught:
        JobKeys(job_id)
    assert [issue.path for issue in caught.value.issues] == ["job_id"]


def test_every_key_of_a_job_lies_under_its_prefix() -> None:
    keys = JobKeys(new_job_id())
    every_key = [
        keys.spec,
        keys.status,
        keys.stop_marker,
        keys.frame(42),
        keys.chunk_manifest(3),
        keys.output("mp4"),
        keys.audio("m4a"),
        keys.segment(2, "mp4"),
        keys.segment_manifest(2),
        keys.segments_prefix,
        keys.frames_prefix,
        keys.chunks_prefix,
        keys.output_prefix,
        *keys.intermediate_prefixes,
    ]
    for key in every_key:
        assert key.startswith(keys.prefix), key
        assert job_id_of(key) == keys.job_id, key


def test_folders_lists_the_names_below_a_prefix_not_their_objects(store: ObjectStore) -> None:
    for key in ("jobs/a1/status.json", "jobs/a1/frames/f1.png", "jobs/b2/spec.json", "top.txt"):
        store.put(key, b"x")
    assert store.folders("jobs/") == ["jobs/a1/", "jobs/b2/"]
    assert store.folders("jobs/a1/") == ["jobs/a1/frames/"]
    assert store.folders("none/") == []


def test_list_modified_gives_each_keys_write_time(store: ObjectStore) -> None:
    import time

    before = time.time()
    store.put("jobs/a1/spec.json", b"x")
    store.put("jobs/a1/frames/f1.png", b"x")
    written = store.list_modified("jobs/a1/")
    assert sorted(written) == ["jobs/a1/frames/f1.png", "jobs/a1/spec.json"]
    for moment in written.values():
        assert before - 5 <= moment <= time.time() + 5  # clocks of one machine, 1 s resolution
