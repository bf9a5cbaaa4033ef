"""One object-store interface with two backends: S3 (any S3 server, through the minio SDK) and a
local directory for the embedded mode. Keys are '/'-separated paths such as those in keys.py.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

from common.config import public_endpoint as public_endpoint_of
from common.errors import FramefarmError

if TYPE_CHECKING:
    from minio import Minio

    from common.config import ServiceSettings


class StorageError(FramefarmError):
    """The store could not be reached or refused a request (usually worth retrying)."""


class ObjectNotFound(StorageError):  # noqa: N818 (reads as what happened)
    """No object at that key."""


@runtime_checkable
class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store ``data`` at ``key``, replacing what was there; readers never see half of it."""

    def put_file(
        self, key: str, path: Path, content_type: str = "application/octet-stream"
    ) -> None: ...

    def get(self, key: str) -> bytes:
        """The object's bytes; ObjectNotFound if absent."""

    def get_file(self, key: str, path: Path) -> None: ...

    def stream(self, key: str) -> Iterator[bytes]:
        """The object's bytes in blocks (a download streamed without holding it whole);
        ObjectNotFound if absent."""

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def list(self, prefix: str) -> list[str]:
        """Keys under ``prefix``, sorted."""

    def folders(self, prefix: str) -> builtins.list[str]:
        """The folders just below ``prefix`` (a prefix ending in '/'), sorted, each ending in
        '/': one listing of names, not of every object under them (jobs without their frames)."""

    def list_modified(self, prefix: str) -> dict[str, float]:
        """Keys under ``prefix`` with the time each was last written (seconds since the epoch)."""

    def delete(self, key: str) -> None:
        """Remove one object; absent objects are not an error (idempotent)."""

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under ``prefix``; returns how many there were."""

    def presigned_url(
        self, key: str, expires: timedelta, filename: str | None = None
    ) -> str | None:
        """A time-limited download URL for browsers, or None when the store cannot make one
        (local, or an S3 server with no public endpoint configured)."""

    def ping(self) -> None:
        """Raise StorageError unless the store answers."""

    def local_file(self, key: str) -> Path | None:
        """The object's file on this machine, if the store keeps one (to serve it directly)."""


def check_key(key: str) -> str:
    """Keys are relative '/'-paths with no empty, '.' or '..' segment (and no trailing '/')."""
    parts = key.split("/")
    if (
        not key
        or key.startswith("/")
        or any(p in ("", ".", "..") for p in parts[:-1])
        or parts[-1] in (".", "..")
    ):
        raise StorageError(f"invalid object key {key!r}")
    return key


class LocalStore:
    """Objects as files under ``root``; writes go to a temporary file first, then rename."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:
            raise StorageError(f"key escapes the store: {key!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".part-", delete=False) as out:
            out.write(data)
        os.replace(out.name, path)

    def put_file(
        self, key: str, path: Path, content_type: str = "application/octet-stream"
    ) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        with (
            tempfile.NamedTemporaryFile(dir=target.parent, prefix=".part-", delete=False) as out,
            open(path, "rb") as source,
        ):
            shutil.copyfileobj(source, out, 1 << 20)
        os.replace(out.name, target)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def get_file(self, key: str, path: Path) -> None:
        try:
            shutil.copyfile(self._path(key), path)
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def stream(self, key: str) -> Iterator[bytes]:
        try:
            source = self._path(key).open("rb")
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        return _blocks(source)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def list(self, prefix: str) -> list[str]:
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not base.is_dir():
            return []
        keys = []
        for path in base.rglob("*"):
            if path.is_file() and not path.name.startswith(".part-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def folders(self, prefix: str) -> builtins.list[str]:
        base = self.root / prefix if prefix else self.root
        if not prefix.endswith("/") and prefix:
            raise StorageError(f"a folder prefix ends in '/': {prefix!r}")
        if not base.is_dir():
            return []
        return sorted(f"{prefix}{p.name}/" for p in base.iterdir() if p.is_dir())

    def list_modified(self, prefix: str) -> dict[str, float]:
        found = {}
        for key in self.list(prefix):
            with contextlib.suppress(FileNotFoundError):  # removed since the listing
                found[key] = self._path(key).stat().st_mtime
        return found

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list(prefix)
        for key in keys:
            self.delete(key)
        return len(keys)

    def presigned_url(
        self, key: str, expires: timedelta, filename: str | None = None
    ) -> str | None:
        return None

    def ping(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"local store {self.root} is not writable")

    def local_path(self, key: str) -> Path:
        """Where the object lives on disk (the local store can serve files directly)."""
        return self._path(key)

    def local_file(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None


class S3Store:
    """Any S3 server (MinIO, SeaweedFS, AWS) through the minio SDK; creates its bucket if absent."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = False,
        region: str | None = None,
        create_bucket: bool = True,
        public_endpoint: str | None = None,
    ) -> None:
        """``public_endpoint`` (host:port or http(s)://host:port): the server as browsers reach
        it, which presigned links name; None, and the store makes none (see presigned_url)."""
        from minio import Minio

        self.bucket = bucket
        self.client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region
        )
        self.public_client: Minio | None = None
        if public_endpoint is not None:
            host, tls = public_endpoint_of(public_endpoint, secure=secure)
            # A region of its own: presigning is then offline (no lookup on a host that this
            # machine may not reach).
            self.public_client = Minio(
                host,
                access_key=access_key,
                secret_key=secret_key,
                secure=tls,
                region=region or "us-east-1",
            )
        if create_bucket:
            self._ensure_bucket()

    def _ensure_bucket(self) -> None:
        from minio.error import S3Error

        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        except S3Error as error:
            if error.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise _wrap(error) from error
        except Exception as error:
            raise _wrap(error) from error

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self.client.put_object(
                self.bucket, check_key(key), io.BytesIO(data), len(data), content_type=content_type
            )
        except Exception as error:
            raise _wrap(error) from error

    def put_file(
        self, key: str, path: Path, content_type: str = "application/octet-stream"
    ) -> None:
        try:
            self.client.fput_object(
                self.bucket, check_key(key), str(path), content_type=content_type
            )
        except Exception as error:
            raise _wrap(error) from error

    def get(self, key: str) -> bytes:
        response = None
        try:
            response = self.client.get_object(self.bucket, check_key(key))
            return bytes(response.read())
        except Exception as error:
            raise _wrap(error, key) from error
        finally:
            if response is not None:
                response.close()
                response.release_conn()

    def get_file(self, key: str, path: Path) -> None:
        try:
            self.client.fget_object(self.bucket, check_key(key), str(path))
        except Exception as error:
            raise _wrap(error, key) from error

    def stream(self, key: str) -> Iterator[bytes]:
        try:
            response = self.client.get_object(self.bucket, check_key(key))
        except Exception as error:
            raise _wrap(error, key) from error

        def blocks() -> Iterator[bytes]:
            try:
                yield from response.stream(1 << 20)
            except Exception as error:
                raise _wrap(error, key) from error
            finally:
                response.close()
                response.release_conn()

        return blocks()

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except ObjectNotFound:
            return False
        return True

    def size(self, key: str) -> int:
        try:
            return int(self.client.stat_object(self.bucket, check_key(key)).size or 0)
        except Exception as error:
            raise _wrap(error, key) from error

    def list(self, prefix: str) -> list[str]:
        try:
            objects = self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
            return sorted(o.object_name for o in objects if o.object_name is not None)
        except Exception as error:
            raise _wrap(error) from error

    def folders(self, prefix: str) -> builtins.list[str]:
        if not prefix.endswith("/") and prefix:
            raise StorageError(f"a folder prefix ends in '/': {prefix!r}")
        try:
            objects = self.client.list_objects(self.bucket, prefix=prefix, recursive=False)
            names = [o.object_name for o in objects if o.is_dir and o.object_name is not None]
        except Exception as error:
            raise _wrap(error) from error
        return sorted(names)

    def list_modified(self, prefix: str) -> dict[str, float]:
        try:
            objects = self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
            return {
                o.object_name: o.last_modified.timestamp()
                for o in objects
                if o.object_name is not None and o.last_modified is not None
            }
        except Exception as error:
            raise _wrap(error) from error

    def delete(self, key: str) -> None:
        try:
            self.client.remove_object(self.bucket, check_key(key))
        except Exception as error:
            wrapped = _wrap(error, key)
            if not isinstance(wrapped, ObjectNotFound):
                raise wrapped from error

    def delete_prefix(self, prefix: str) -> int:
        from minio.deleteobjects import DeleteObject

        keys = self.list(prefix)
        try:
            failures = list(
                self.client.remove_objects(self.bucket, (DeleteObject(k) for k in keys))
            )
        except Exception as error:
            raise _wrap(error) from error
        if failures:
            raise StorageError(
                f"could not delete {len(failures)} objects under {prefix!r}: {failures[0]}"
            )
        return len(keys)

    def presigned_url(
        self, key: str, expires: timedelta, filename: str | None = None
    ) -> str | None:
        if self.public_client is None:
            return None  # the internal host means nothing to a browser: stream instead
        headers: dict[str, str | list[str] | tuple[str]] | None = None
        if filename is not None:
            safe = "".join(c for c in filename if c.isalnum() or c in " ._-") or "download"
            headers = {"response-content-disposition": f'attachment; filename="{safe}"'}
        try:
            return str(
                self.public_client.presigned_get_object(
                    self.bucket, check_key(key), expires=expires, response_headers=headers
                )
            )
        except Exception as error:
            raise _wrap(error, key) from error

    def ping(self) -> None:
        try:
            self.client.bucket_exists(self.bucket)
        except Exception as error:
            raise _wrap(error) from error

    def local_file(self, key: str) -> Path | None:
        return None  # objects live on the server


def _wrap(error: Exception, key: str | None = None) -> StorageError:
    from minio.error import S3Error

    if isinstance(error, StorageError):
        return error
    if isinstance(error, S3Error) and error.code in ("NoSuchKey", "NoSuchObject"):
        return ObjectNotFound(key or error.resource or "")
    if isinstance(error, S3Error):
        return StorageError(f"S3 refused the request: {error.code}: {error.message}")
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    reason = getattr(error, "reason", None)
    if isinstance(error, NewConnectionError) or (
        isinstance(error, MaxRetryError) and isinstance(reason, NewConnectionError)
    ):
        return StorageError(f"S3 unreachable: {reason or error}")
    return StorageError(f"S3 request failed: {type(error).__name__}: {error}")


def make_store(settings: ServiceSettings) -> ObjectStore:
    """The configured object store: S3 when an endpoint is set, else the local directory."""
    if settings.s3_endpoint:
        return S3Store(
            settings.s3_endpoint,
            settings.s3_access_key,
            settings.s3_secret_key,
            settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
            public_endpoint=settings.s3_public_endpoint,
        )
    return LocalStore(settings.local_store)


def _blocks(source: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    with source:
        while block := source.read(size):
            yield block
