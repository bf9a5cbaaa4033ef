"""What clients see of an export before it runs (coordinator/views.py ``export_plan``): the
frames and seconds of the server's exact timeline and the project's summary, as plain JSON."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from common.config import Limits
from common.format.validation import validate_export
from common.jobs.state import JobState, Phase, new_job
from coordinator.views import FeedMessages, export_plan, socket_message
from tests.factories import note, project_data, track

# 8 beats at 120 bpm (4 s), then 60 bpm (1 s a beat) to beat 16: 12 s in all.
TEMPO_CHANGE: dict[str, Any] = {"bpm": 120, "tempoChanges": [{"beat": 8, "bpm": 60}]}


def plan(project: dict[str, Any], settings: dict[str, Any] | None) -> dict[str, Any]:
    facts = export_plan(validate_export(project, settings, Limits()))
    assert json.loads(json.dumps(facts)) == facts  # plain JSON all the way down
    return facts


def test_a_sub_range_across_a_tempo_change_is_timed_by_the_tempo_map() -> None:
    """Beats 4-12: 2 s at 120 bpm plus 4 s at 60 bpm, so song time 2 s to 8 s."""
    facts = plan(project_data(**TEMPO_CHANGE), {"fps": 10, "startBeat": 4, "endBeat": 12})
    facts.pop("project")
    assert facts == {
        "frames": 60,
        "fps": 10,
        "fpsValue": 10.0,
        "startBeat": 4.0,
        "endBeat": 12.0,
        "startSeconds": 2.0,
        "endSeconds": 8.0,
        "startBar": "2:1",
        "endBar": "4:1",
        "startTime": "0:02",
        "endTime": "0:08",
        "durationSeconds": 6.0,
        "width": 1280,
        "height": 720,
        "format": "mp4",
    }


def test_a_rational_rate_covers_the_range_with_whole_frames() -> None:
    """6 s at 30000/1001 fps is 179.8 frames: 180 are rendered, so the video lasts 6.006 s."""
    settings = {"fps": "30000/1001", "startBeat": 4, "endBeat": 12, "format": "webm"}
    facts = plan(project_data(**TEMPO_CHANGE), settings)
    assert (facts["frames"], facts["fps"]) == (180, "30000/1001")
    assert facts["fpsValue"] == 30000 / 1001
    assert facts["durationSeconds"] == 180 * 1001 / 30000
    assert (facts["endSeconds"] - facts["startSeconds"], facts["format"]) == (6.0, "webm")


def test_without_settings_the_defaults_plan_the_whole_song() -> None:
    facts = plan(project_data(**TEMPO_CHANGE), None)
    assert (facts["startBeat"], facts["endBeat"]) == (0.0, 16.0)
    assert (facts["startSeconds"], facts["endSeconds"]) == (0.0, 12.0)
    assert (facts["frames"], facts["fps"], facts["durationSeconds"]) == (720, 60, 12.0)


def test_the_project_summary_has_its_tempo_segments_tracks_and_piano_rolls() -> None:
    lead = track(
        "lead",
        name="Lead",
        notes=[note(0, "8n.", pitch=64, velocity=0.5), note(3, "1m"), note(6, 1.5)],
    )
    pad = track(
        "pad",
        style="orbs",
        instrument={"type": "PolySynth", "params": {"voice": "FMSynth"}},
        mute=True,
    )
    project = project_data(lead, pad, timeSignature=[6, 8], name="Waltz-ish", **TEMPO_CHANGE)
    summary = plan(project, None)["project"]
    assert summary == {
        "name": "Waltz-ish",
        "bpm": 120.0,
        "tempos": [
            {"beat": 0.0, "bpm": 120.0, "seconds": 0.0},
            {"beat": 8.0, "bpm": 60.0, "seconds": 4.0},
        ],
        "timeSignature": [6, 8],
        "beatsPerBar": 3.0,  # a 6/8 measure is six eighths: three quarter-note beats
        "durationBeats": 16.0,
        "seconds": 12.0,
        "notes": 3,
        "tracks": [
            {
                "id": "lead",
                "name": "Lead",
                "instrument": "Synth",
                "voice": None,
                "style": "bars",
                "color": "#ff2fd6",
                "mute": False,
                "notes": 3,
                # "8n." is a dotted eighth (0.75 beats), "1m" a 6/8 measure (3 beats)
                "roll": [[0.0, 0.75, 64, 0.5], [3.0, 3.0, 60, 1.0], [6.0, 1.5, 60, 1.0]],
            },
            {
                "id": "pad",
                "name": "",
                "instrument": "PolySynth",
                "voice": "FMSynth",
                "style": "orbs",
                "color": "#ff2fd6",
                "mute": True,
                "notes": 0,
                "roll": [],
            },
        ],
    }


CHUNKS = {0: 10, 1: 10, 2: 10}
SEGMENTS = {0: 15, 1: 15}
RUNNING = [Phase.QUEUED, Phase.RENDERING, Phase.STITCHING]


@st.composite
def job_states(draw: st.DrawFn) -> JobState:
    """Any snapshot of one job, running or complete: what the feed may be handed, in any order."""
    committed = draw(st.frozensets(st.sampled_from(sorted(CHUNKS))))
    in_flight = {
        chunk: draw(st.integers(0, CHUNKS[chunk] - 1))
        for chunk in draw(st.frozensets(st.sampled_from(sorted(CHUNKS))))
        if chunk not in committed
    }
    return dataclasses.replace(
        new_job("job", CHUNKS, 0.0, segment_frames=SEGMENTS),
        phase=draw(st.sampled_from([*RUNNING, Phase.COMPLETE])),
        committed=committed,
        frames_in_flight=in_flight,
        encoded=draw(st.frozensets(st.sampled_from(sorted(SEGMENTS)))),
        stitched_frames=draw(st.integers(0, 30)),
    )


@given(st.lists(job_states(), min_size=1, max_size=12))
def test_the_feeds_percent_never_goes_back_whatever_order_states_arrive_in(
    states: list[JobState],
) -> None:
    feed = FeedMessages()
    percents = [feed.message(state, 0.0)["percent"] for state in states]
    assert percents == sorted(percents)
    assert percents[-1] == max(state.percent for state in states)
    assert all(0.0 <= percent <= 100.0 for percent in percents)


def test_an_older_snapshot_after_a_newer_one_shows_the_newer_percent() -> None:
    newer = dataclasses.replace(new_job("job", CHUNKS, 0.0), committed=frozenset({0, 1}))
    older = dataclasses.replace(newer, committed=frozenset({0}))
    feed = FeedMessages()
    first, second = feed.message(newer, 0.0), feed.message(older, 0.0)
    assert older.percent < newer.percent
    assert second["percent"] == first["percent"] == newer.percent
    assert second["framesDone"] == 10  # the rest of the message is the state's own


def test_a_range_in_bars_or_minutes_is_read_by_the_server_into_beats() -> None:
    """The body's ``range`` becomes the settings' beats (stored so in the job's spec); what
    cannot be read, or is given twice, is an issue naming ``range.*``."""
    import pytest

    from common.errors import InvalidInput
    from coordinator.app import export_and_extras

    def body(settings: dict[str, Any], range_: Any) -> bytes:
        project = project_data(**TEMPO_CHANGE)
        return json.dumps({"project": project, "settings": settings, "range": range_}).encode()

    in_bars, _ = export_and_extras(
        body({"fps": 10}, {"unit": "bars", "start": "2:1"}), Limits(), ()
    )
    assert in_bars.settings_json == {"fps": 10, "startBeat": 4.0}
    assert (in_bars.timeline.start, in_bars.frame_count) == (Fraction(2), 100)  # 2 s to 12 s
    on_clock, _ = export_and_extras(
        body({"fps": 10}, {"unit": "time", "start": "0:02", "end": "0:08"}), Limits(), ()
    )
    assert (on_clock.settings.start_beat, on_clock.settings.end_beat) == (4.0, 12.0)
    assert export_plan(on_clock)["endBar"] == "4:1"
    with pytest.raises(InvalidInput) as refused:
        export_and_extras(
            body({"endBeat": 8}, {"unit": "bars", "start": "x", "end": "3:1", "extra": 1}),
            Limits(),
            (),
        )
    assert [issue.path for issue in refused.value.issues] == [
        "range.extra",
        "range.start",
        "range.end",
    ]
    with pytest.raises(InvalidInput) as beyond:  # the song has 16 beats: 5 bars is past it
        export_and_extras(body({}, {"unit": "bars", "end": "6:1"}), Limits(), ())
    assert [issue.path for issue in beyond.value.issues] == ["settings.endBeat"]


def test_the_live_frame_is_shown_while_rendering_only() -> None:
    """Stitching, every frame is in and the frames are about to go: the page shows the bar."""
    rendering = dataclasses.replace(
        new_job("job", CHUNKS, 0.0), phase=Phase.RENDERING, committed=frozenset({0, 1})
    )
    stitching = dataclasses.replace(rendering, phase=Phase.STITCHING, committed=frozenset(CHUNKS))
    queued = dataclasses.replace(rendering, phase=Phase.QUEUED)  # recovered with commits
    newest = sum(CHUNKS[i] for i in (0, 1)) - 1
    assert socket_message(rendering, 0.0)["thumbnailUrl"] == (
        f"/api/exports/job/thumbnail?frame={newest}"
    )
    assert socket_message(stitching, 0.0)["thumbnailUrl"] is None
    assert socket_message(queued, 0.0)["thumbnailUrl"] is None
