"""The feed of job states to WebSockets (coordinator/feed.py), with a real orchestrator on a local
store: states made on another thread reach the watchers of their job on the event loop, a slow
watcher gets the latest state (never a backlog), and closed watchers and a closed feed hear
nothing and leave nothing behind."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

from common.adapters.storage import LocalStore
from common.config import Limits
from common.format.validation import validate_export
from common.jobs.messages import ChunkProgress, JobFailed
from common.jobs.state import JobState, Phase
from coordinator.feed import JobFeed
from coordinator.orchestrator import Orchestrator
from tests.factories import project_data

WAIT_S = 60.0
"""Only catches a hang."""


def orchestrator(tmp_path: Path) -> Orchestrator:
    return Orchestrator(LocalStore(tmp_path), lambda _: None)


def submit(orch: Orchestrator) -> str:
    export = validate_export(
        project_data(durationBeats=4), {"width": 64, "height": 36, "fps": 10}, Limits()
    )
    return orch.submit(export, chunk_frames=10).job_id


def on_thread(work: Callable[[], object]) -> None:
    """Run ``work`` on another thread, as the orchestrator's events are."""
    thread = threading.Thread(target=work)
    thread.start()
    thread.join(WAIT_S)
    assert not thread.is_alive()


def test_states_from_another_thread_reach_every_watcher_of_their_job(tmp_path: Path) -> None:
    orch = orchestrator(tmp_path)
    job, other = submit(orch), submit(orch)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        errors: list[dict[str, object]] = []
        loop.set_exception_handler(lambda _, context: errors.append(context))
        feed = JobFeed(orch, loop)
        unwatched = submit(orch)  # its states reach the loop too, and are dropped quietly
        first, second, elsewhere = feed.watch(job), feed.watch(job), feed.watch(other)
        on_thread(lambda: orch.handle(ChunkProgress(unwatched, 0, 1, 10, "w")))
        on_thread(lambda: orch.handle(ChunkProgress(job, 0, 3, 10, "w")))
        states = await asyncio.wait_for(asyncio.gather(first.next(), second.next()), WAIT_S)
        assert [s.frames_done for s in states] == [3, 3]
        assert [s.job_id for s in states] == [job, job]
        assert elsewhere.latest is None  # another job's watcher heard nothing
        assert errors == []
        feed.close()

    asyncio.run(scenario())


def test_a_slow_watcher_gets_the_latest_state_once(tmp_path: Path) -> None:
    orch = orchestrator(tmp_path)
    job = submit(orch)

    async def scenario() -> None:
        feed = JobFeed(orch, asyncio.get_running_loop())
        watcher = feed.watch(job)

        def events() -> None:
            for done in (2, 5, 7):
                orch.handle(ChunkProgress(job, 0, done, 10, "w"))

        on_thread(events)
        state = await asyncio.wait_for(watcher.next(), WAIT_S)
        while state.frames_done < 7:  # the loop may deliver between the events
            state = await asyncio.wait_for(watcher.next(), WAIT_S)
        assert state.frames_done == 7
        waiting = asyncio.ensure_future(watcher.next())
        await asyncio.sleep(0)  # let it wait: nothing new has come
        assert not waiting.done()
        on_thread(lambda: orch.handle(JobFailed(job, "boom", "w")))
        last: JobState = await asyncio.wait_for(waiting, WAIT_S)
        assert last.phase is Phase.FAILED
        feed.close()

    asyncio.run(scenario())


def test_closed_watchers_and_a_closed_feed_hear_nothing_and_leave_nothing(
    tmp_path: Path,
) -> None:
    orch = orchestrator(tmp_path)
    job = submit(orch)

    async def scenario() -> None:
        feed = JobFeed(orch, asyncio.get_running_loop())
        gone, staying = feed.watch(job), feed.watch(job)
        gone.close()
        gone.close()  # twice is harmless
        on_thread(lambda: orch.handle(ChunkProgress(job, 0, 4, 10, "w")))
        assert (await asyncio.wait_for(staying.next(), WAIT_S)).frames_done == 4
        assert gone.latest is None
        staying.close()
        assert feed._watchers == {}  # no job's entry outlives its last watcher
        feed.close()
        late = feed.watch(job)
        on_thread(lambda: orch.handle(ChunkProgress(job, 0, 6, 10, "w")))
        await asyncio.sleep(0)
        assert late.latest is None  # the feed no longer listens

    asyncio.run(scenario())
