"""The render_chunk actor: decode the command, render the chunk, turn permanent errors into a
failed job (no retry) and let transient ones retry with backoff."""

from __future__ import annotations

import threading
from typing import Any

import dramatiq

from common.adapters.bus import RENDER_ACTOR, Bus, Queues, RetryPolicy, run_command
from common.jobs.messages import RenderChunk
from farm_worker.chunk import ChunkRenderer, ChunkReturned

RENDER_OPTIONS: dict[str, Any] = {
    **RetryPolicy().actor_options(),
    "time_limit": 20 * 60 * 1000,  # well under RabbitMQ's 30-minute consumer timeout
}


def register_render_actor(
    broker: dramatiq.Broker,
    queues: Queues,
    chunks: ChunkRenderer,
    bus: Bus,
    retry: RetryPolicy | None = None,
) -> dramatiq.Actor[[dict[str, Any]], None]:
    def render(command: RenderChunk) -> None:
        try:
            chunks.render(command)
        except ChunkReturned:
            # Shutting down: the same command goes back to the queue at once, then this message
            # is acknowledged (not a retry, nothing dead-lettered; a copy is idempotent).
            bus.send(command)

    def render_chunk(payload: dict[str, Any]) -> None:
        run_command(payload, RenderChunk, render, bus=bus, component="worker")

    broker.add_middleware(ReleaseRenderers(chunks))
    options = {**RENDER_OPTIONS, **(retry or RetryPolicy()).actor_options()}
    decorate = dramatiq.actor(
        broker=broker, actor_name=RENDER_ACTOR, queue_name=queues.render, **options
    )
    return decorate(render_chunk)


class ReleaseRenderers(dramatiq.Middleware):
    """A worker thread that stops releases its GL context and renderer (on its own thread: a
    context is current on one thread only)."""

    def __init__(self, chunks: ChunkRenderer) -> None:
        self.chunks = chunks

    def before_worker_thread_shutdown(
        self, broker: dramatiq.Broker, thread: threading.Thread
    ) -> None:
        self.chunks.renderers.release()
