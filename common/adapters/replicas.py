"""What several coordinators share through RabbitMQ: a lease that one of them holds at a time
(an exclusive queue: the broker lets one connection declare it and deletes it when that
connection goes, a crash included), and a fanout exchange that gives each of them a copy of
every message published to it. Each runs on its own connection and thread (pika's blocking
connection is not thread-safe)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

import pika
import pika.exceptions

log = logging.getLogger(__name__)

RETRY_S = 1.0
POLL_S = 0.5
RESOURCE_LOCKED = 405


class ExclusiveLease:
    """Holds ``name`` (an exclusive queue) whenever it can: ``on_acquired`` when this process
    gets it, ``on_lost`` when its connection fails or it stops. Both run on the lease's thread
    and must return quickly (hand long work to another thread)."""

    def __init__(
        self,
        url: str,
        name: str,
        on_acquired: Callable[[], None],
        on_lost: Callable[[], None],
        *,
        retry_s: float = RETRY_S,
    ) -> None:
        self.url = url
        self.name = name
        self.on_acquired = on_acquired
        self.on_lost = on_lost
        self.retry_s = retry_s
        self.held = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._hold_once()
            except pika.exceptions.ChannelClosedByBroker as error:
                if error.reply_code != RESOURCE_LOCKED:
                    log.warning("lease %s: channel closed: %s", self.name, error)
            except Exception as error:  # a broker that is down or went away: try again
                log.warning("lease %s: %s: %s", self.name, type(error).__name__, error)
            finally:
                if self.held.is_set():
                    self.held.clear()
                    log.info("lease %s lost", self.name)
                    self.on_lost()
            self._stop.wait(self.retry_s)

    def _hold_once(self) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            channel = connection.channel()
            channel.queue_declare(self.name, exclusive=True, auto_delete=True)
            self.held.set()
            log.info("lease %s acquired", self.name)
            self.on_acquired()
            while not self._stop.is_set():
                connection.process_data_events(time_limit=POLL_S)  # heartbeats
        finally:
            if connection.is_open:
                connection.close()


class FanoutPublisher:
    """Publishes bodies to a fanout exchange from any thread (a queue and one thread of its
    own). Best effort: what cannot be published while the broker is away is dropped."""

    def __init__(self, url: str, exchange: str, capacity: int = 10_000) -> None:
        self.url = url
        self.exchange = exchange
        self._outbox: queue.Queue[bytes | None] = queue.Queue(capacity)
        self._thread = threading.Thread(target=self._run, name="fanout-publish", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def publish(self, body: bytes) -> None:
        try:
            self._outbox.put_nowait(body)
        except queue.Full:
            log.warning("fanout %s: outbox full, dropping a message", self.exchange)

    def stop(self, timeout: float = 10.0) -> None:
        self._outbox.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        body: bytes | None = b""
        while body is not None:
            try:
                connection = pika.BlockingConnection(pika.URLParameters(self.url))
            except Exception as error:
                log.warning("fanout %s: %s", self.exchange, error)
                threading.Event().wait(RETRY_S)
                continue
            try:
                channel = connection.channel()
                channel.exchange_declare(self.exchange, exchange_type="fanout")
                while True:
                    try:
                        body = self._outbox.get(timeout=POLL_S)
                    except queue.Empty:
                        connection.process_data_events(time_limit=0)  # heartbeats
                        continue
                    if body is None:
                        break
                    channel.basic_publish(self.exchange, routing_key="", body=body)
            except Exception as error:
                log.warning("fanout %s: publishing failed: %s", self.exchange, error)
            finally:
                if connection.is_open:
                    connection.close()


class FanoutSubscriber:
    """Calls ``on_message(body)`` for every message published to a fanout exchange while it
    runs (a queue of its own, deleted when it stops or its connection goes)."""

    def __init__(self, url: str, exchange: str, on_message: Callable[[bytes], None]) -> None:
        self.url = url
        self.exchange = exchange
        self.on_message = on_message
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fanout-subscribe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._consume()
            except Exception as error:
                log.warning("fanout %s: %s: %s", self.exchange, type(error).__name__, error)
            self.ready.clear()
            self._stop.wait(RETRY_S)

    def _consume(self) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            channel = connection.channel()
            channel.exchange_declare(self.exchange, exchange_type="fanout")
            own = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
            channel.queue_bind(own, self.exchange)

            def deliver(ch: object, method: object, properties: object, body: bytes) -> None:
                try:
                    self.on_message(body)
                except Exception:
                    log.exception("fanout %s: a subscriber failed", self.exchange)

            channel.basic_consume(own, deliver, auto_ack=True)
            self.ready.set()
            while not self._stop.is_set():
                connection.process_data_events(time_limit=POLL_S)
        finally:
            if connection.is_open:
                connection.close()
