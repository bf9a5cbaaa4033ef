"""The scene is a pure function of (project, time): deterministic, stateless, closed-form."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from common.scene.visuals import SceneModel, scene_at
from tests.factories import note, project, project_data, track

ALL_STYLES = project(
    track("lead", "bars", [note(0, 1, 60), note(2, "4n", 67), note(6, 2, 72)]),
    track(
        "kick",
        "rings",
        [note(b, 0.5, 36) for b in range(8)],
        instrument={"type": "MembraneSynth"},
        effects=[
            {"type": "FeedbackDelay", "params": {"delayTime": "8n", "feedback": 0.5, "wet": 0.5}}
        ],
    ),
    track("hats", "particles", [note(1), note(3.5)], instrument={"type": "MetalSynth"}),
    track(
        "pad",
        "orbs",
        [note(4, 4, 48, 0.7)],
        instrument={"type": "PolySynth", "params": {"voice": "FMSynth"}},
    ),
)


def counts(model: SceneModel, seconds: float | Fraction) -> dict[str, int]:
    return {batch.kind: len(batch) for batch in model.at(seconds).batches}


def test_same_time_gives_identical_scenes() -> None:
    model = SceneModel.from_project(ALL_STYLES)
    times = [Fraction(i, 60) for i in range(0, 480, 7)]
    forward = [model.at(t).digest() for t in times]
    backward = [SceneModel.from_project(ALL_STYLES).at(t).digest() for t in reversed(times)]
    assert forward == backward[::-1]
    assert len(set(forward)) > len(times) // 2  # and the scene does change over time


def test_same_scene_in_another_process() -> None:
    data = project_data(*[t.model_dump(by_alias=True) for t in ALL_STYLES.tracks])
    code = (
        "import json,sys\n"
        "from fractions import Fraction\n"
        "from common.format.validation import parse_project\n"
        "from common.scene.visuals import scene_at\n"
        "p = parse_project(json.loads(sys.stdin.read()))\n"
        "print(','.join(scene_at(p, Fraction(i, 30)).digest() for i in (0, 17, 45, 100)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    here = project(*data["tracks"])
    expected = ",".join(scene_at(here, Fraction(i, 30)).digest() for i in (0, 17, 45, 100))
    assert result.stdout.strip() == expected


def test_all_four_styles_appear() -> None:
    model = SceneModel.from_project(ALL_STYLES)
    # at 0.6 s: kicks from 0 s and 0.5 s still ring, plus the 0 s kick's echoes at 0.25 and 0.5 s
    assert counts(model, 0.6) == {"box": 3, "ring": 4, "sphere": 1, "particle": 16}


def test_bars_scroll_past_the_playhead_with_the_beat() -> None:
    model = SceneModel.from_project(project(track("lead", "bars", [note(4, 1)])))
    at_0 = model.at(0).batch("box").positions[0]
    at_1 = model.at(1).batch("box").positions[0]  # two beats later at 120 bpm
    assert at_0[0] == pytest.approx((4.5 - 0) * 1.5)
    assert at_0[0] - at_1[0] == pytest.approx(2 * 1.5)


def test_a_bar_glows_while_its_note_sounds() -> None:
    model = SceneModel.from_project(project(track("lead", "bars", [note(2, 1)])))
    before = model.at(0.9).batch("box").emission[0]
    during = model.at(1.1).batch("box").emission[0]
    assert during.sum() > 3 * before.sum()


def test_rings_expand_from_note_on_and_vanish_after_release() -> None:
    spec = {
        "type": "Synth",
        "params": {"envelope": {"attack": 0, "decay": 0, "sustain": 1, "release": 0.5}},
    }
    model = SceneModel.from_project(project(track("k", "rings", [note(2, 0.5)], instrument=spec)))
    assert counts(model, 0.99)["ring"] == 0
    early, late = model.at(1.05).batch("ring"), model.at(1.2).batch("ring")
    assert len(early) == len(late) == 1
    assert late.transforms[0, 0, 0] > early.transforms[0, 0, 0]  # radius grows
    assert counts(model, 1.25 + 0.5 + 0.001)["ring"] == 0  # gate 0.25 s + release 0.5 s


def test_feedback_delay_adds_fading_echo_rings() -> None:
    spec = {
        "type": "Synth",
        "params": {"envelope": {"attack": 0, "decay": 0, "sustain": 1, "release": 0.05}},
    }
    delay = [{"type": "FeedbackDelay", "params": {"delayTime": 0.3, "feedback": 0.5, "wet": 1}}]
    model = SceneModel.from_project(
        project(track("k", "rings", [note(0, 0.1)], instrument=spec, effects=delay))
    )
    first, echo = model.at(0.01).batch("ring"), model.at(0.31).batch("ring")
    assert len(first) == 1 and len(echo) == 1
    assert echo.emission[0].sum() == pytest.approx(first.emission[0].sum())  # wet 1: echo 1 at 1.0
    second_echo = model.at(0.61).batch("ring")
    assert second_echo.emission[0].sum() == pytest.approx(0.5 * first.emission[0].sum())


def test_particles_burst_per_note_and_live_a_fixed_time() -> None:
    model = SceneModel.from_project(project(track("p", "particles", [note(2), note(2.5)])))
    assert counts(model, 0.99)["particle"] == 0
    assert counts(model, 1.0)["particle"] == 16
    assert counts(model, 1.3)["particle"] == 32
    assert counts(model, 1.0 + 1.2)["particle"] == 16  # first burst over (1.2 s life)
    assert counts(model, 1.25 + 1.2)["particle"] == 0


def test_particles_depend_on_the_seed_only_through_hashing() -> None:
    tracks = [track("p", "particles", [note(0)])]
    a = scene_at(project(*tracks, visualizer={"seed": 1}), 0.5).batch("particle").positions
    b = scene_at(project(*tracks, visualizer={"seed": 2}), 0.5).batch("particle").positions
    again = scene_at(project(*tracks, visualizer={"seed": 1}), 0.5).batch("particle").positions
    assert not np.allclose(a, b)
    assert np.array_equal(a, again)


def test_orb_swells_with_the_envelope() -> None:
    model = SceneModel.from_project(project(track("o", "orbs", [note(2, 1)])))
    rest, hit = model.at(0.5).batch("sphere"), model.at(1.01).batch("sphere")
    assert hit.transforms[0, 0, 0] > rest.transforms[0, 0, 0]
    assert hit.emission[0].sum() > 3 * rest.emission[0].sum()


def test_muted_tracks_are_not_drawn_and_solo_wins() -> None:
    muted = project(track("a", "orbs", mute=True), track("b", "orbs"))
    assert len(scene_at(muted, 0).batch("sphere")) == 1
    soloed = project(track("a", "orbs"), track("b", "orbs", solo=True), track("c", "orbs"))
    spheres = scene_at(soloed, 0).objects()
    assert [o.track_id for o in spheres] == ["b"]


def test_camera_orbits_once_per_orbit_beats() -> None:
    p = project(visualizer={"camera": {"fov": 50, "distance": 12, "orbitBeats": 16}})
    model = SceneModel.from_project(p)
    start, half, full = (model.at(s).camera.eye for s in (0, 4, 8))  # 16 beats = 8 s at 120
    assert full == pytest.approx(start)
    assert half[0] == pytest.approx(-start[0], abs=1e-9)
    assert half[2] == pytest.approx(-start[2])


def test_orbit_follows_tempo_changes() -> None:
    p = project(tempoChanges=[{"beat": 8, "bpm": 60}], visualizer={"camera": {"orbitBeats": 16}})
    model = SceneModel.from_project(p)
    # beat 8 at 4 s, then 8 more beats take 8 s at 60 bpm: a full turn at 12 s
    assert model.at(12).camera.eye == pytest.approx(model.at(0).camera.eye)


def test_emission_is_hdr_linear_colour_times_intensity() -> None:
    model = SceneModel.from_project(project(track("o", "orbs", [note(2, 8)])))
    emission = model.at(1.005).batch("sphere").emission[0]  # at the attack peak
    pink = np.array([1.0, 0.028426, 0.672443])  # "#ff2fd6" decoded to linear
    assert emission / emission[0] == pytest.approx(pink, rel=1e-4)
    assert emission.max() > 1.0  # intensity 2 x a sounding note: blooms


def test_objects_have_the_sizes_the_layout_gives_them() -> None:
    """World sizes written out from the layout's numbers (120 bpm: a beat is 0.5 s), so that a
    scaled bar, ring or particle shows here and not only as a slightly different frame."""
    model = SceneModel.from_project(
        project(
            track("bar", "bars", [note(0, 1, 60)]),
            track("ring", "rings", [note(0, 1, 60)]),
            track("spark", "particles", [note(0, 1, 60)]),
        )
    )
    at_birth, later = model.at(Fraction(0)), model.at(Fraction(2, 5))  # 0 s and 0.4 s

    [bar] = at_birth.batch("box").transforms
    # 1 beat x 1.5 units a beat x 0.96 (a gap between notes), bar height 0.14, depth 0.5
    assert np.diag(bar)[:3] == pytest.approx([1.44, 0.14, 0.5])

    [ring] = later.batch("ring").transforms
    assert ring[0, 0] == ring[2, 2] == pytest.approx(0.3 + 2.5 * 0.4)  # start + speed x age

    sparks = at_birth.batch("particle").transforms
    assert len(sparks) == 16
    assert np.diagonal(sparks, axis1=1, axis2=2)[:, :3] == pytest.approx(0.06 * 1.2)
    aged = model.at(Fraction(3, 5)).batch("particle").transforms  # half of a 1.2 s life
    assert np.diagonal(aged, axis1=1, axis2=2)[:, :3] == pytest.approx(0.06 * (1.2 - 0.35))
