"""Project format v1 (shared/PROJECT_FORMAT.md), read as a specification.

Every rejection names the JSON path of the offending value, says what was expected and shows what
came. Each case starts from a small valid project and changes exactly one thing.
"""

from __future__ import annotations

import copy
import json
import math
import re
from typing import Any

import pytest

from common.errors import NO_VALUE, InvalidInput, Issue
from common.format.effects import FeedbackDelayOptions, FilterOptions
from common.format.instruments import MembraneSynthOptions, SynthOptions
from common.format.notation import notation_to_beats
from common.format.project import PmndrsBloom, Project, UnrealBloom
from common.format.validation import parse_project
from framefarm.cli import main

# --- a valid project, and tools to change one thing in it ----------------------------------------

MINIMAL: dict[str, Any] = {
    "format": "framefarm.project/1",
    "name": "Spec",
    "bpm": 120,
    "durationBeats": 16,
    "tracks": [
        {
            "id": "lead",
            "instrument": {"type": "Synth"},
            "notes": [{"beat": 0, "duration": 1, "pitch": 60, "velocity": 0.8}],
        }
    ],
}

CONTRACT_EXAMPLE: dict[str, Any] = {
    "format": "framefarm.project/1",
    "name": "Neon Drive",
    "bpm": 120,
    "tempoChanges": [{"beat": 32, "bpm": 140}],
    "timeSignature": [4, 4],
    "durationBeats": 64,
    "tracks": [
        {
            "id": "lead",
            "name": "Lead",
            "instrument": {
                "type": "Synth",
                "params": {
                    "oscillator": {"type": "sawtooth"},
                    "envelope": {"attack": 0.01, "decay": 0.2, "sustain": 0.6, "release": 0.4},
                },
            },
            "effects": [
                {
                    "type": "FeedbackDelay",
                    "params": {"delayTime": "8n", "feedback": 0.35, "wet": 0.25},
                },
                {"type": "Reverb", "params": {"decay": 2.0, "wet": 0.3}},
            ],
            "volume": -6,
            "pan": 0.0,
            "mute": False,
            "solo": False,
            "visual": {"style": "bars", "color": "#ff2fd6", "intensity": 1.5},
            "notes": [{"beat": 0, "duration": 0.5, "pitch": 60, "velocity": 0.8}],
        }
    ],
    "visualizer": {
        "background": "#05010f",
        "camera": {"fov": 50, "distance": 12, "orbitBeats": 16},
        "toneMapping": "none",
        "exposure": 1.0,
        "seed": 1234,
        "bloom": {
            "intensity": 1.2,
            "luminanceThreshold": 0.2,
            "luminanceSmoothing": 0.025,
            "mipmapBlur": True,
            "radius": 0.85,
            "levels": 8,
        },
    },
}

DELETE = object()
"""Put in place of a value: remove the key instead of setting it."""

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [name if name else int(index) for name, index in _STEP.findall(path)]


def changed(path: str, value: Any, base: dict[str, Any] = MINIMAL) -> dict[str, Any]:
    """A deep copy of ``base`` with ``value`` at the JSON ``path`` (objects created on the way)."""
    data = copy.deepcopy(base)
    *parents, last = _steps(path)
    node: Any = data
    for step in parents:
        node = node.setdefault(step, {}) if isinstance(step, str) else node[step]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return data


def issues_of(data: Any) -> tuple[Issue, ...]:
    with pytest.raises(InvalidInput) as caught:
        parse_project(data)
    return caught.value.issues


def only_issue(data: Any) -> Issue:
    issues = issues_of(data)
    assert len(issues) == 1, [str(i) for i in issues]
    return issues[0]


def assert_issue(issue: Issue, path: str, words: tuple[str, ...], got: Any = NO_VALUE) -> None:
    assert issue.path == path, str(issue)
    for word in words:
        assert word in issue.message, f"{word!r} not in {issue.message!r}"
    assert str(issue).startswith(f"{path}: {issue.message}")
    if got is NO_VALUE:
        return
    if isinstance(got, float) and math.isnan(got):
        assert isinstance(issue.value, float) and math.isnan(issue.value), str(issue)
        return
    assert issue.value == got, str(issue)
    assert isinstance(issue.value, bool) == isinstance(got, bool), str(issue)
    assert str(issue).endswith(f" (got {json.dumps(issue.to_json()['value'])})")


def rejection(
    set_at: str,
    value: Any,
    *words: str,
    path: str | None = None,
    got: Any = NO_VALUE,
    id: str,
) -> Any:
    """One table row: put ``value`` at ``set_at``; expect one issue at ``path`` with ``words``."""
    return pytest.param(set_at, value, path or set_at, words, got, id=id)


def check_rejection(set_at: str, value: Any, path: str, words: tuple[str, ...], got: Any) -> None:
    assert_issue(only_issue(changed(set_at, value)), path, words, got)


# --- the valid project ------------------------------------------------------------------------


def test_the_minimal_project_is_valid() -> None:
    project = parse_project(copy.deepcopy(MINIMAL))
    assert isinstance(project, Project)
    assert project.name == "Spec"
    assert [t.id for t in project.tracks] == ["lead"]


def test_the_example_of_the_contract_is_valid() -> None:
    project = parse_project(copy.deepcopy(CONTRACT_EXAMPLE))
    assert project.tempo_changes[0].beat == 32
    delay = project.tracks[0].effects[0].params
    assert isinstance(delay, FeedbackDelayOptions)
    assert delay.delay_time == "8n"
    bloom = project.visualizer.bloom
    assert isinstance(bloom, PmndrsBloom)
    assert bloom.luminance_threshold == 0.2
    assert project.visualizer.seed == 1234


def test_parsing_does_not_change_the_input() -> None:
    data = copy.deepcopy(CONTRACT_EXAMPLE)
    parse_project(data)
    assert data == CONTRACT_EXAMPLE


# --- top level --------------------------------------------------------------------------------

TWO_NUMBERS = "expected [numerator, denominator], e.g. [4, 4] or [6, 8]"

TOP_LEVEL = [
    rejection(
        "format",
        "framefarm.project/2",
        "framefarm.project/1",
        got="framefarm.project/2",
        id="format-wrong",
    ),
    rejection("format", DELETE, "required", id="format-missing"),
    rejection("name", "", "at least 1 character", got="", id="name-empty"),
    rejection("name", DELETE, "required", id="name-missing"),
    rejection("name", "x" * 201, "at most 200", id="name-too-long"),
    rejection("bpm", 0, "> 0", got=0, id="bpm-zero"),
    rejection("bpm", -120, "> 0", got=-120, id="bpm-negative"),
    rejection("bpm", 1000.5, "<= 1000", got=1000.5, id="bpm-over-1000"),
    rejection("bpm", DELETE, "required", id="bpm-missing"),
    rejection("bpm", "120", "expected a number", got="120", id="bpm-string-not-coerced"),
    rejection("bpm", True, "expected a number", got=True, id="bpm-true-is-not-a-number"),
    rejection("bpm", None, "expected a number", got=None, id="bpm-null"),
    rejection("name", 5, "expected a string", got=5, id="name-number-is-not-a-string"),
    rejection("durationBeats", DELETE, "required", id="durationBeats-missing"),
    rejection("durationBeats", 0, "> 0", got=0, id="durationBeats-zero"),
    rejection("durationBeats", -4, "> 0", got=-4, id="durationBeats-negative"),
    rejection("durationBeats", "16", "expected a number", got="16", id="durationBeats-string"),
    rejection(
        "tempoChanges",
        [{"beat": 0, "bpm": 90}],
        "> 0",
        path="tempoChanges[0].beat",
        got=0,
        id="tempoChange-at-beat-0",
    ),
    rejection(
        "tempoChanges",
        [{"beat": -2, "bpm": 90}],
        "> 0",
        path="tempoChanges[0].beat",
        got=-2,
        id="tempoChange-negative-beat",
    ),
    rejection(
        "tempoChanges",
        [{"beat": 8, "bpm": 0}],
        "> 0",
        path="tempoChanges[0].bpm",
        got=0,
        id="tempoChange-bpm-zero",
    ),
    rejection(
        "tempoChanges",
        [{"beat": 8, "bpm": 2000}],
        "<= 1000",
        path="tempoChanges[0].bpm",
        got=2000,
        id="tempoChange-bpm-over-1000",
    ),
    rejection(
        "tempoChanges",
        [{"beat": 8}],
        "required",
        path="tempoChanges[0].bpm",
        id="tempoChange-bpm-missing",
    ),
    rejection(
        "tempoChanges",
        [{"beat": 8, "bpm": 90, "ramp": True}],
        "unknown field",
        path="tempoChanges[0].ramp",
        got=True,
        id="tempoChange-unknown-key",
    ),
    rejection(
        "tempoChanges", {"beat": 8, "bpm": 90}, "expected an array", id="tempoChanges-not-an-array"
    ),
    rejection(
        "timeSignature",
        [4, 3],
        "1, 2, 4, 8, 16 or 32",
        path="timeSignature[1]",
        got=3,
        id="timeSignature-denominator-not-a-power-of-two",
    ),
    rejection(
        "timeSignature",
        [4, 64],
        "1, 2, 4, 8, 16 or 32",
        path="timeSignature[1]",
        got=64,
        id="timeSignature-denominator-too-large",
    ),
    rejection(
        "timeSignature",
        [0, 4],
        ">= 1",
        path="timeSignature[0]",
        got=0,
        id="timeSignature-numerator-zero",
    ),
    rejection(
        "timeSignature",
        [33, 4],
        "<= 32",
        path="timeSignature[0]",
        got=33,
        id="timeSignature-numerator-over-32",
    ),
    rejection("timeSignature", [4, 4, 4], TWO_NUMBERS, id="timeSignature-three-numbers"),
    rejection(
        "timeSignature",
        [4.5, 4],
        "integer",
        path="timeSignature[0]",
        got=4.5,
        id="timeSignature-fraction",
    ),
    rejection(
        "timeSignature",
        ["4", 4],
        "integer",
        path="timeSignature[0]",
        got="4",
        id="timeSignature-string-numerator",
    ),
    rejection("timeSignature", "4/4", "expected an array", got="4/4", id="timeSignature-as-text"),
    rejection("tracks", {"id": "lead"}, "expected an array", id="tracks-not-an-array"),
    rejection("visualizer", [], "expected an object", got=[], id="visualizer-not-an-object"),
    rejection("mood", "happy", "unknown field", got="happy", id="unknown-top-level-key"),
    rejection("tempo", 120, "unknown field", got=120, id="misspelt-top-level-key"),
]


@pytest.mark.parametrize(("set_at", "value", "path", "words", "got"), TOP_LEVEL)
def test_top_level_rejections(
    set_at: str, value: Any, path: str, words: tuple[str, ...], got: Any
) -> None:
    check_rejection(set_at, value, path, words, got)


@pytest.mark.parametrize(
    "document", [None, [], "project", 42], ids=["null", "array", "string", "number"]
)
def test_a_document_that_is_not_an_object_is_rejected_at_the_root(document: Any) -> None:
    issue = only_issue(document)
    assert issue.path == ""
    assert "expected an object" in issue.message
    assert str(issue).startswith("expected an object")


def test_tempo_changes_must_strictly_increase_and_the_path_names_the_late_one() -> None:
    data = changed("tempoChanges", [{"beat": 8, "bpm": 100}, {"beat": 4, "bpm": 90}])
    assert_issue(only_issue(data), "tempoChanges[1].beat", ("after 8", "strictly increasing"), 4)


def test_tempo_changes_on_the_same_beat_are_refused() -> None:
    data = changed("tempoChanges", [{"beat": 8, "bpm": 100}, {"beat": 8, "bpm": 90}])
    assert_issue(only_issue(data), "tempoChanges[1].beat", ("after 8", "sorted"), 8)


def test_every_unsorted_tempo_change_is_reported() -> None:
    changes = [{"beat": 8, "bpm": 100}, {"beat": 4, "bpm": 90}, {"beat": 2, "bpm": 80}]
    issues = issues_of(changed("tempoChanges", changes))
    assert [i.path for i in issues] == ["tempoChanges[1].beat", "tempoChanges[2].beat"]


@pytest.mark.parametrize(
    ("value", "got"),
    [([4], NO_VALUE), ([], []), ([4, 4, 4], NO_VALUE)],
    ids=["one-number", "empty", "three-numbers"],
)
def test_time_signature_with_a_wrong_length_asks_for_two_numbers(value: Any, got: Any) -> None:
    issue = only_issue(changed("timeSignature", value))
    assert_issue(issue, "timeSignature", (), got)
    assert issue.message == TWO_NUMBERS


def test_snake_case_names_are_not_part_of_the_format() -> None:
    data = changed("durationBeats", DELETE)
    data["duration_beats"] = 16
    issues = issues_of(data)
    assert [str(i) for i in issues] == [
        "durationBeats: a value is required",
        "duration_beats: unknown field (not part of the format) (got 16)",
    ]


@pytest.mark.parametrize(
    ("set_at", "value"),
    [
        ("tempo_changes", []),
        ("tracks[0].instrument.params.envelope.attack_curve", "linear"),
        ("visualizer.bloom.luminance_threshold", 0.5),
        ("visualizer.tone_mapping", "aces"),
    ],
    ids=[
        "top-level-tempo_changes",
        "envelope-attack_curve",
        "bloom-luminance_threshold",
        "visualizer-tone_mapping",
    ],
)
def test_a_snake_case_name_of_an_optional_field_is_an_unknown_field(
    set_at: str, value: Any
) -> None:
    assert_issue(only_issue(changed(set_at, value)), set_at, ("unknown field",), value)


@pytest.mark.parametrize(
    ("set_at", "value", "path"),
    [
        ("durationBeats", math.inf, "durationBeats"),
        ("bpm", -math.inf, "bpm"),
        ("tempoChanges", [{"beat": math.inf, "bpm": 90}], "tempoChanges[0].beat"),
        ("tracks[0].notes[0].beat", math.inf, "tracks[0].notes[0].beat"),
        ("tracks[0].pan", math.nan, "tracks[0].pan"),
        (
            "tracks[0].instrument.params.oscillator.volume",
            math.nan,
            "tracks[0].instrument.params.oscillator.volume",
        ),
    ],
    ids=[
        "durationBeats-inf",
        "bpm-minus-inf",
        "tempoChange-beat-inf",
        "note-beat-inf",
        "pan-nan",
        "oscillator-volume-nan",
    ],
)
def test_non_finite_numbers_are_refused(set_at: str, value: Any, path: str) -> None:
    got = value[0]["beat"] if isinstance(value, list) else value
    issue = only_issue(changed(set_at, value))
    assert_issue(issue, path, (), got)
    assert issue.message == "expected a finite number"


# --- tracks -----------------------------------------------------------------------------------

INSTRUMENT_TYPES = (
    "'Synth', 'FMSynth', 'AMSynth', 'MembraneSynth', 'MetalSynth', 'NoiseSynth', 'PluckSynth', "
    "'PolySynth'"
)
VOICE_TYPES = (
    "'Synth', 'FMSynth', 'AMSynth', 'MembraneSynth', 'MetalSynth', 'NoiseSynth', 'PluckSynth'"
)
EFFECT_TYPES = "'Gain', 'Filter', 'FeedbackDelay', 'Reverb', 'Distortion', 'Chorus'"
NOTATION_WORDS = ("Tone.js notation", "'4n'", "'8n.'", "'16t'", "'1m'")
CURVES = "'linear', 'exponential', 'sine', 'cosine', 'bounce', 'ripple' or 'step'"
T0 = "tracks[0]"
ENV = f"{T0}.instrument.params.envelope"
FX = f"{T0}.effects[0]"
NOTE = f"{T0}.notes[0]"


def poly(voice: str, **options: Any) -> dict[str, Any]:
    return {"type": "PolySynth", "params": {"voice": voice, "options": options}}


TRACKS = [
    # identity and mix
    rejection(f"{T0}.id", "", "at least 1 character", got="", id="empty-id"),
    rejection(f"{T0}.id", DELETE, "required", id="missing-id"),
    rejection(f"{T0}.id", 7, "expected a string", got=7, id="numeric-id"),
    rejection(f"{T0}.volume", 30, "<= 24", got=30, id="volume-too-loud"),
    rejection(f"{T0}.volume", -101, ">= -100", got=-101, id="volume-too-quiet"),
    rejection(f"{T0}.pan", -1.5, ">= -1", got=-1.5, id="pan-too-far-left"),
    rejection(f"{T0}.pan", 1.01, "<= 1", got=1.01, id="pan-too-far-right"),
    rejection(f"{T0}.mute", "no", "true or false", got="no", id="mute-not-a-boolean"),
    rejection(f"{T0}.solo", 1, "true or false", got=1, id="solo-one-is-not-true"),
    rejection(f"{T0}.gain", 1, "unknown field", got=1, id="unknown-track-key"),
    # instrument
    rejection(f"{T0}.instrument", DELETE, "required", id="missing-instrument"),
    rejection(
        f"{T0}.instrument",
        {"type": "Sampler"},
        "unknown type 'Sampler'",
        INSTRUMENT_TYPES,
        id="unknown-instrument-lists-known-types",
    ),
    rejection(f"{T0}.instrument", {"params": {}}, "'type' field", id="instrument-without-type"),
    rejection(
        f"{T0}.instrument", "Synth", "expected an object", got="Synth", id="instrument-as-text"
    ),
    rejection(
        f"{T0}.instrument.params", None, "expected an object", got=None, id="instrument-params-null"
    ),
    rejection(
        f"{T0}.instrument.params.cutoff",
        800,
        "unknown field",
        got=800,
        id="unknown-instrument-param",
    ),
    rejection(f"{ENV}.attack", -0.1, "seconds >= 0", got=-0.1, id="envelope-attack-negative"),
    rejection(f"{ENV}.decay", "4x", *NOTATION_WORDS, got="4x", id="envelope-decay-bad-notation"),
    rejection(f"{ENV}.release", True, *NOTATION_WORDS, got=True, id="envelope-release-boolean"),
    rejection(f"{ENV}.sustain", 1.5, "<= 1", got=1.5, id="envelope-sustain-over-1"),
    rejection(f"{ENV}.sustain", -0.1, ">= 0", got=-0.1, id="envelope-sustain-negative"),
    rejection(f"{ENV}.attackCurve", "wobbly", CURVES, got="wobbly", id="envelope-bad-curve"),
    rejection(
        f"{ENV}.decayCurve",
        "sine",
        "'linear' or 'exponential'",
        got="sine",
        id="envelope-decay-curve-only-linear-or-exponential",
    ),
    rejection(f"{ENV}.hold", 0.1, "unknown field", got=0.1, id="envelope-unknown-key"),
    rejection(
        f"{T0}.instrument.params.oscillator.type",
        "saw",
        "oscillator type",
        "sawtooth",
        got="saw",
        id="bad-oscillator-type",
    ),
    rejection(
        f"{T0}.instrument.params.oscillator.count", 0, ">= 1", got=0, id="oscillator-count-zero"
    ),
    rejection(
        f"{T0}.instrument",
        {"type": "FMSynth", "params": {"harmonicity": 0}},
        "> 0",
        path=f"{T0}.instrument.params.harmonicity",
        got=0,
        id="fmsynth-harmonicity-zero",
    ),
    rejection(
        f"{T0}.instrument",
        {"type": "FMSynth", "params": {"modulationIndex": -1}},
        ">= 0",
        path=f"{T0}.instrument.params.modulationIndex",
        got=-1,
        id="fmsynth-modulation-index-negative",
    ),
    rejection(
        f"{T0}.instrument",
        {"type": "MembraneSynth", "params": {"octaves": 17}},
        "<= 16",
        path=f"{T0}.instrument.params.octaves",
        got=17,
        id="membrane-octaves-over-16",
    ),
    rejection(
        f"{T0}.instrument",
        {"type": "NoiseSynth", "params": {"noise": {"type": "blue"}}},
        "'white', 'pink' or 'brown'",
        path=f"{T0}.instrument.params.noise.type",
        got="blue",
        id="noise-colour-unknown",
    ),
    rejection(
        f"{T0}.instrument",
        {"type": "PluckSynth", "params": {"resonance": 1}},
        "< 1",
        path=f"{T0}.instrument.params.resonance",
        got=1,
        id="pluck-resonance-one",
    ),
    rejection(
        f"{T0}.instrument",
        {"type": "PluckSynth", "params": {"envelope": {}}},
        "unknown field",
        path=f"{T0}.instrument.params.envelope",
        id="pluck-has-no-envelope",
    ),
    rejection(
        f"{T0}.instrument",
        {"type": "PolySynth", "params": {"voice": "Sampler"}},
        "unknown voice 'Sampler'",
        VOICE_TYPES,
        path=f"{T0}.instrument.params",
        id="polysynth-unknown-voice",
    ),
    rejection(
        f"{T0}.instrument",
        {"type": "PolySynth", "params": {"voice": "PolySynth"}},
        "unknown voice 'PolySynth'",
        path=f"{T0}.instrument.params",
        id="polysynth-cannot-nest",
    ),
    rejection(
        f"{T0}.instrument",
        {"type": "PolySynth", "params": {"options": {}}},
        "'voice' field",
        path=f"{T0}.instrument.params",
        id="polysynth-without-voice",
    ),
    rejection(
        f"{T0}.instrument",
        poly("FMSynth", envelope={"release": -1}),
        "seconds >= 0",
        path=f"{T0}.instrument.params.options.envelope.release",
        got=-1,
        id="polysynth-bad-nested-option",
    ),
    rejection(
        f"{T0}.instrument",
        poly("Synth", modulationIndex=2),
        "unknown field",
        path=f"{T0}.instrument.params.options.modulationIndex",
        got=2,
        id="polysynth-option-of-another-voice",
    ),
    rejection(
        f"{T0}.instrument",
        {"type": "PolySynth", "params": {"voice": "Synth", "maxPolyphony": 0}},
        ">= 1",
        path=f"{T0}.instrument.params.maxPolyphony",
        got=0,
        id="polysynth-max-polyphony-zero",
    ),
    # effects
    rejection(
        f"{T0}.effects",
        [{"type": "Phaser"}],
        "unknown type 'Phaser'",
        EFFECT_TYPES,
        path=FX,
        id="unknown-effect-lists-known-types",
    ),
    rejection(f"{T0}.effects", {"type": "Reverb"}, "expected an array", id="effects-not-an-array"),
    rejection(
        f"{T0}.effects",
        [{"type": "FeedbackDelay", "params": {"feedback": 1}}],
        "< 1",
        path=f"{FX}.params.feedback",
        got=1,
        id="delay-feedback-one-would-never-fade",
    ),
    rejection(
        f"{T0}.effects",
        [{"type": "FeedbackDelay", "params": {"delayTime": "8x"}}],
        *NOTATION_WORDS,
        path=f"{FX}.params.delayTime",
        got="8x",
        id="delay-time-bad-notation",
    ),
    rejection(
        f"{T0}.effects",
        [{"type": "FeedbackDelay", "params": {"delayTime": -0.25}}],
        "seconds >= 0",
        path=f"{FX}.params.delayTime",
        got=-0.25,
        id="delay-time-negative",
    ),
    rejection(
        f"{T0}.effects",
        [{"type": "Filter", "params": {"rolloff": -6}}],
        "-12, -24, -48 or -96",
        path=f"{FX}.params.rolloff",
        got=-6,
        id="filter-rolloff-not-allowed",
    ),
    rejection(
        f"{T0}.effects",
        [{"type": "Filter", "params": {"Q": -1}}],
        ">= 0",
        path=f"{FX}.params.Q",
        got=-1,
        id="filter-Q-negative-path-uses-tonejs-name",
    ),
    rejection(
        f"{T0}.effects",
        [{"type": "Filter", "params": {"frequency": 0}}],
        "> 0",
        path=f"{FX}.params.frequency",
        got=0,
        id="filter-frequency-zero",
    ),
    rejection(
        f"{T0}.effects",
        [{"type": "Filter", "params": {"type": "comb"}}],
        "'lowpass'",
        path=f"{FX}.params.type",
        got="comb",
        id="filter-type-unknown",
    ),
    rejection(
        f"{T0}.effects",
        [{"type": "Chorus", "params": {"wet": 1.5}}],
        "<= 1",
        path=f"{FX}.params.wet",
        got=1.5,
        id="chorus-wet-over-1",
    ),
    rejection(
        f"{T0}.effects",
        [{"type": "Reverb", "params": {"wet": -0.1}}],
        ">= 0",
        path=f"{FX}.params.wet",
        got=-0.1,
        id="reverb-wet-negative",
    ),
    rejection(
        f"{T0}.effects",
        [{"type": "Reverb", "params": {"decay": 0}}],
        "> 0",
        path=f"{FX}.params.decay",
        got=0,
        id="reverb-decay-zero",
    ),
    rejection(
        f"{T0}.effects",
        [{"type": "Distortion", "params": {"oversample": "8x"}}],
        "'none', '2x' or '4x'",
        path=f"{FX}.params.oversample",
        got="8x",
        id="distortion-oversample-unknown",
    ),
    rejection(
        f"{T0}.effects",
        [{"type": "Gain", "params": {"units": "bels"}}],
        "'gain' or 'decibels'",
        path=f"{FX}.params.units",
        got="bels",
        id="gain-units-unknown",
    ),
    rejection(
        f"{T0}.effects",
        [{"type": "Reverb", "params": {"roomSize": 0.5}}],
        "unknown field",
        path=f"{FX}.params.roomSize",
        got=0.5,
        id="effect-param-of-another-effect",
    ),
    # notes
    rejection(f"{NOTE}.beat", -1, ">= 0", got=-1, id="note-before-beat-0"),
    rejection(f"{NOTE}.beat", DELETE, "required", id="note-beat-missing"),
    rejection(f"{NOTE}.duration", 0, "beats > 0", got=0, id="note-duration-zero"),
    rejection(f"{NOTE}.duration", -0.5, "beats > 0", got=-0.5, id="note-duration-negative"),
    rejection(
        f"{NOTE}.duration",
        "quarter",
        *NOTATION_WORDS,
        got="quarter",
        id="note-duration-bad-notation",
    ),
    rejection(f"{NOTE}.duration", "4", *NOTATION_WORDS, got="4", id="note-duration-number-as-text"),
    rejection(f"{NOTE}.duration", False, *NOTATION_WORDS, got=False, id="note-duration-boolean"),
    rejection(f"{NOTE}.pitch", 128, "<= 127", got=128, id="pitch-over-127"),
    rejection(f"{NOTE}.pitch", -1, ">= 0", got=-1, id="pitch-negative"),
    rejection(f"{NOTE}.pitch", 60.5, "integer", got=60.5, id="pitch-not-an-integer"),
    rejection(f"{NOTE}.pitch", "C4", "integer", got="C4", id="pitch-note-name"),
    rejection(f"{NOTE}.velocity", 1.1, "<= 1", got=1.1, id="velocity-over-1"),
    rejection(f"{NOTE}.velocity", -0.1, ">= 0", got=-0.1, id="velocity-negative"),
    rejection(f"{NOTE}.velocity", 100, "<= 1", got=100, id="velocity-as-midi"),
    rejection(f"{NOTE}.channel", 1, "unknown field", got=1, id="note-unknown-key"),
    # visual
    rejection(
        f"{T0}.visual.style",
        "waves",
        "'bars', 'rings', 'particles' or 'orbs'",
        got="waves",
        id="visual-style-unknown",
    ),
    rejection(
        f"{T0}.visual.color",
        "#fff",
        "hex colour",
        "'#ff2fd6'",
        got="#fff",
        id="visual-colour-short-hex",
    ),
    rejection(f"{T0}.visual.color", "red", "hex colour", got="red", id="visual-colour-name"),
    rejection(
        f"{T0}.visual.color",
        "#ff2fd6ff",
        "hex colour",
        got="#ff2fd6ff",
        id="visual-colour-with-alpha",
    ),
    rejection(f"{T0}.visual.intensity", -1, ">= 0", got=-1, id="visual-intensity-negative"),
    rejection(f"{T0}.visual.intensity", 101, "<= 100", got=101, id="visual-intensity-over-100"),
    rejection(
        f"{T0}.visual.colour",
        "#ffffff",
        "unknown field",
        got="#ffffff",
        id="visual-british-spelling-is-unknown",
    ),
]


@pytest.mark.parametrize(("set_at", "value", "path", "words", "got"), TRACKS)
def test_track_rejections(
    set_at: str, value: Any, path: str, words: tuple[str, ...], got: Any
) -> None:
    check_rejection(set_at, value, path, words, got)


def test_duplicate_track_ids_name_the_second_track_and_the_first() -> None:
    data = copy.deepcopy(MINIMAL)
    data["tracks"].append(copy.deepcopy(data["tracks"][0]))
    assert_issue(only_issue(data), "tracks[1].id", ("unique", "tracks[0]"), "lead")


def test_every_duplicate_id_points_at_the_first_use() -> None:
    data = copy.deepcopy(MINIMAL)
    track = data["tracks"][0]
    data["tracks"] = [track, dict(track, id="bass"), dict(track), dict(track, id="bass")]
    issues = issues_of(data)
    assert [(i.path, i.value) for i in issues] == [
        ("tracks[2].id", "lead"),
        ("tracks[3].id", "bass"),
    ]
    assert "tracks[0]" in issues[0].message
    assert "tracks[1]" in issues[1].message


def test_the_path_names_the_right_track_and_note() -> None:
    data = copy.deepcopy(MINIMAL)
    second = copy.deepcopy(data["tracks"][0]) | {"id": "bass"}
    second["notes"] = [*second["notes"], {"beat": 1, "duration": 1, "pitch": 200, "velocity": 1}]
    data["tracks"].append(second)
    assert_issue(only_issue(data), "tracks[1].notes[1].pitch", ("<= 127",), 200)


def test_filter_q_is_read_by_its_tonejs_name() -> None:
    data = changed(f"{T0}.effects", [{"type": "Filter", "params": {"Q": 4.5}}])
    params = parse_project(data).tracks[0].effects[0].params
    assert isinstance(params, FilterOptions)
    assert params.q == 4.5


@pytest.mark.parametrize(
    ("set_at", "value"),
    [(f"{NOTE}.duration", "0n"), (f"{ENV}.attack", "0m"), (f"{NOTE}.duration", "00n")],
    ids=["note-duration-0n", "envelope-attack-0m", "note-duration-00n"],
)
def test_notation_with_a_zero_count_is_refused(set_at: str, value: str) -> None:
    assert_issue(only_issue(changed(set_at, value)), set_at, NOTATION_WORDS, value)


# --- visualizer -------------------------------------------------------------------------------

BLOOM = "visualizer.bloom"

VISUALIZER = [
    rejection(
        "visualizer.toneMapping",
        "filmic",
        "'none', 'aces', 'agx', 'neutral', 'reinhard', 'cineon' or 'linear'",
        got="filmic",
        id="tone-mapping-unknown",
    ),
    rejection("visualizer.exposure", 0, "> 0", got=0, id="exposure-zero"),
    rejection("visualizer.exposure", -1, "> 0", got=-1, id="exposure-negative"),
    rejection("visualizer.seed", -1, ">= 0", got=-1, id="seed-negative"),
    rejection("visualizer.seed", 2**32, "<= 4294967295", got=2**32, id="seed-over-32-bits"),
    rejection("visualizer.seed", 1.5, "integer", got=1.5, id="seed-not-an-integer"),
    rejection("visualizer.background", "black", "hex colour", got="black", id="background-not-hex"),
    rejection("visualizer.camera.fov", 180, "< 179", got=180, id="camera-fov-too-wide"),
    rejection("visualizer.camera.fov", 1, "> 1", got=1, id="camera-fov-too-narrow"),
    rejection("visualizer.camera.distance", 0, "> 0", got=0, id="camera-distance-zero"),
    rejection("visualizer.camera.orbitBeats", -4, ">= 0", got=-4, id="camera-orbit-negative"),
    rejection("visualizer.camera.zoom", 2, "unknown field", got=2, id="camera-unknown-key"),
    rejection(f"{BLOOM}.levels", 0, ">= 1", got=0, id="bloom-levels-zero"),
    rejection(f"{BLOOM}.levels", 13, "<= 12", got=13, id="bloom-levels-13"),
    rejection(f"{BLOOM}.radius", 1.5, "<= 1", got=1.5, id="bloom-radius-over-1"),
    rejection(f"{BLOOM}.intensity", -0.5, ">= 0", got=-0.5, id="bloom-intensity-negative"),
    rejection(f"{BLOOM}.luminanceThreshold", -0.1, ">= 0", got=-0.1, id="bloom-threshold-negative"),
    rejection(
        f"{BLOOM}.mipmapBlur",
        False,
        "mipmapBlur: true",
        "Kawase",
        "not implemented",
        got=False,
        id="bloom-kawase-blur-not-implemented",
    ),
    rejection(
        f"{BLOOM}.strength", 1.5, "unknown field", got=1.5, id="bloom-pmndrs-has-no-unreal-strength"
    ),
    rejection(
        BLOOM,
        {"mode": "unreal", "luminanceThreshold": 0.2},
        "unknown field",
        path=f"{BLOOM}.luminanceThreshold",
        got=0.2,
        id="bloom-unreal-refuses-threshold",
    ),
    rejection(
        BLOOM,
        {"mode": "unreal", "mipmapBlur": True},
        "unknown field",
        path=f"{BLOOM}.mipmapBlur",
        got=True,
        id="bloom-unreal-refuses-mipmapBlur",
    ),
    rejection(
        BLOOM,
        {"mode": "unreal", "levels": 8},
        "unknown field",
        path=f"{BLOOM}.levels",
        got=8,
        id="bloom-unreal-refuses-levels",
    ),
    rejection(
        BLOOM,
        {"mode": "unreal", "radius": 2},
        "<= 1",
        path=f"{BLOOM}.radius",
        got=2,
        id="bloom-unreal-radius-over-1",
    ),
    rejection(
        BLOOM,
        {"mode": "unreal", "strength": -1},
        ">= 0",
        path=f"{BLOOM}.strength",
        got=-1,
        id="bloom-unreal-strength-negative",
    ),
]


@pytest.mark.parametrize(("set_at", "value", "path", "words", "got"), VISUALIZER)
def test_visualizer_rejections(
    set_at: str, value: Any, path: str, words: tuple[str, ...], got: Any
) -> None:
    check_rejection(set_at, value, path, words, got)


def test_an_unknown_bloom_mode_is_refused_at_the_bloom() -> None:
    issue = only_issue(changed(BLOOM, {"mode": "kawase"}))
    assert_issue(issue, BLOOM, ())
    assert issue.message == "unknown mode 'kawase'; expected 'pmndrs' (the default) or 'unreal'"
    assert str(issue) == f"{BLOOM}: {issue.message}"


def test_unreal_bloom_is_accepted_with_its_own_fields() -> None:
    data = changed(BLOOM, {"mode": "unreal", "strength": 1.5, "radius": 0.4, "threshold": 0.8})
    bloom = parse_project(data).visualizer.bloom
    assert isinstance(bloom, UnrealBloom)
    assert (bloom.mode, bloom.strength, bloom.radius, bloom.threshold) == ("unreal", 1.5, 0.4, 0.8)


def test_unreal_bloom_defaults_are_those_of_unreal_bloom_pass() -> None:
    bloom = parse_project(changed(BLOOM, {"mode": "unreal"})).visualizer.bloom
    assert isinstance(bloom, UnrealBloom)
    assert (bloom.strength, bloom.radius, bloom.threshold) == (1.0, 0.0, 0.0)


def test_bloom_intensity_zero_is_accepted_and_disables_bloom() -> None:
    bloom = parse_project(changed(f"{BLOOM}.intensity", 0)).visualizer.bloom
    assert isinstance(bloom, PmndrsBloom)
    assert bloom.intensity == 0


# --- many errors at once ----------------------------------------------------------------------


def test_every_error_is_listed_in_one_invalid_input() -> None:
    data = copy.deepcopy(MINIMAL)
    data["bpm"] = 0
    data["name"] = ""
    data["mood"] = "happy"
    data["tracks"][0]["notes"][0]["pitch"] = 200
    data["tracks"][0]["visual"] = {"color": "red"}
    data["visualizer"] = {"bloom": {"levels": 0}, "exposure": -1}
    with pytest.raises(InvalidInput) as caught:
        parse_project(data)
    error = caught.value
    assert sorted(i.path for i in error.issues) == sorted(
        [
            "bpm",
            "name",
            "mood",
            "tracks[0].notes[0].pitch",
            "tracks[0].visual.color",
            "visualizer.bloom.levels",
            "visualizer.exposure",
        ]
    )
    assert error.what == "project"
    assert error.summary().splitlines()[0] == "invalid project: 7 errors"


def test_cross_field_errors_are_listed_together() -> None:
    data = changed("tempoChanges", [{"beat": 8, "bpm": 100}, {"beat": 4, "bpm": 90}])
    data["tracks"].append(copy.deepcopy(data["tracks"][0]))
    issues = issues_of(data)
    assert [i.path for i in issues] == ["tempoChanges[1].beat", "tracks[1].id"]


# --- valid things, and the Tone.js defaults ---------------------------------------------------


def instrument(spec: dict[str, Any]) -> Any:
    return parse_project(changed(f"{T0}.instrument", spec)).tracks[0].instrument


def effect(spec: dict[str, Any]) -> Any:
    return parse_project(changed(f"{T0}.effects", [spec])).tracks[0].effects[0]


def test_optional_top_level_fields_take_their_defaults() -> None:
    project = parse_project(copy.deepcopy(MINIMAL))
    assert project.tempo_changes == ()
    assert project.time_signature == (4, 4)
    track = project.tracks[0]
    assert (track.name, track.volume, track.pan, track.mute, track.solo) == ("", 0, 0, False, False)
    assert track.effects == ()
    assert (track.visual.style, track.visual.color, track.visual.intensity) == (
        "bars",
        "#ffffff",
        1,
    )


def test_a_project_without_tracks_is_valid() -> None:
    assert parse_project(changed("tracks", DELETE)).tracks == ()


def test_synth_takes_tonejs_defaults() -> None:
    params = instrument({"type": "Synth"}).params
    envelope = params.envelope
    assert (envelope.attack, envelope.decay, envelope.sustain, envelope.release) == (
        0.005,
        0.1,
        0.3,
        1,
    )
    assert (envelope.attack_curve, envelope.decay_curve, envelope.release_curve) == (
        "linear",
        "exponential",
        "exponential",
    )
    assert params.oscillator.type == "triangle"


def test_a_partial_envelope_keeps_the_other_defaults_of_envelope() -> None:
    envelope = instrument(
        {"type": "Synth", "params": {"envelope": {"attack": 0.2}}}
    ).params.envelope
    assert envelope.attack == 0.2
    # Tone deep-merges into the Synth's own envelope defaults (sustain 0.3), not Envelope's (0.5)
    assert (envelope.decay, envelope.sustain, envelope.release) == (0.1, 0.3, 1)


@pytest.mark.parametrize(
    ("spec", "field", "expected"),
    [
        ({"type": "MetalSynth", "params": {"envelope": {"decay": 1}}}, "envelope", (0.001, 1, 0.2)),
        (
            {"type": "FMSynth", "params": {"modulationEnvelope": {"attack": 0.1}}},
            "modulation_envelope",
            (0.1, 0.0, 0.5),
        ),
        (
            {"type": "NoiseSynth", "params": {"envelope": {"attack": 0.1}}},
            "envelope",
            (0.1, 0.1, 1),
        ),
    ],
)
def test_partial_nested_options_merge_into_the_instruments_own_defaults(
    spec: dict[str, Any], field: str, expected: tuple[float, float, float]
) -> None:
    envelope = getattr(instrument(spec).params, field)
    assert (envelope.attack, envelope.decay, envelope.release) == expected


def test_a_partial_oscillator_keeps_the_instruments_wave() -> None:
    params = instrument({"type": "FMSynth", "params": {"oscillator": {"phase": 0}}}).params
    assert (params.oscillator.type, params.modulation.type) == ("sine", "square")
    membrane = instrument({"type": "MembraneSynth", "params": {"envelope": {"attack": 0.02}}})
    assert membrane.params.envelope.attack_curve == "exponential"
    assert membrane.params.envelope.sustain == 0.01
    poly = instrument(
        {"type": "PolySynth", "params": {"voice": "Synth", "options": {"envelope": {"decay": 1}}}}
    )
    assert poly.params.options.envelope.sustain == 0.3


def test_a_partial_nested_option_is_still_validated() -> None:
    spec = {"type": "Synth", "params": {"envelope": {"attack": -1, "colour": 1}}}
    paths = sorted(i.path for i in issues_of(changed(f"{T0}.instrument", spec)))
    assert paths == [f"{T0}.instrument.params.envelope.{k}" for k in ("attack", "colour")]


@pytest.mark.parametrize(
    ("tone", "octaves", "words"),
    [
        ("15.5.44", 9, ("from 0.5 to 8", "tone 15.5.44", "compat.tone", "before 15.3")),
        ("15.5.44", 0.25, ("from 0.5 to 8",)),
        ("15.3.0", 10, ("from 0.5 to 8", "tone 15.3.0")),
    ],
)
def test_membrane_octaves_are_checked_against_the_tone_release(
    tone: str, octaves: float, words: tuple[str, ...]
) -> None:
    data = changed(f"{T0}.instrument", {"type": "MembraneSynth", "params": {"octaves": octaves}})
    data["compat"] = {"tone": tone}
    assert_issue(only_issue(data), f"{T0}.instrument.params.octaves", words, octaves)
    poly = {"type": "PolySynth", "params": {"voice": "MembraneSynth", "options": {"octaves": 9}}}
    issue = only_issue(changed(f"{T0}.instrument", poly))
    assert issue.path == f"{T0}.instrument.params.options.octaves"


def test_a_dumped_membrane_synth_parses_again_with_the_release_default() -> None:
    """Exports store the project as dumped JSON: octaves not given is dumped as null."""
    parsed = parse_project(changed(f"{T0}.instrument", {"type": "MembraneSynth"}))
    again = parse_project(parsed.model_dump(mode="json", by_alias=True))
    assert again == parsed
    params = again.tracks[0].instrument.params
    assert isinstance(params, MembraneSynthOptions) and params.octaves is None
    assert params.envelope.attack_curve == "exponential"


def test_older_tone_releases_take_membrane_octaves_up_to_16() -> None:
    data = changed(f"{T0}.instrument", {"type": "MembraneSynth", "params": {"octaves": 12}})
    data["compat"] = {"tone": "15.2.7"}
    params = parse_project(data).tracks[0].instrument.params
    assert isinstance(params, MembraneSynthOptions) and params.octaves == 12
    data["compat"] = {"tone": "15.3.0"}
    assert only_issue(data).path == f"{T0}.instrument.params.octaves"


def test_fmsynth_takes_tonejs_defaults() -> None:
    params = instrument({"type": "FMSynth"}).params
    assert (params.harmonicity, params.modulation_index) == (3, 10)
    assert (params.oscillator.type, params.modulation.type) == ("sine", "square")
    assert params.envelope.sustain == 1
    assert params.modulation_envelope.attack == 0.5


def test_amsynth_takes_tonejs_defaults() -> None:
    params = instrument({"type": "AMSynth"}).params
    assert params.harmonicity == 3
    assert (params.envelope.attack, params.envelope.release) == (0.01, 0.5)


def test_membrane_synth_takes_tonejs_defaults() -> None:
    params = instrument({"type": "MembraneSynth"}).params
    # octaves: None is the default of the project's tone release (8 from 15.3, 10 before)
    assert (params.pitch_decay, params.octaves) == (0.05, None)
    assert params.envelope.attack_curve == "exponential"
    assert (params.envelope.attack, params.envelope.decay, params.envelope.sustain) == (
        0.001,
        0.4,
        0.01,
    )
    assert params.envelope.release == 1.4


def test_metal_noise_and_pluck_synths_take_tonejs_defaults() -> None:
    metal = instrument({"type": "MetalSynth"}).params
    assert (metal.harmonicity, metal.modulation_index, metal.resonance, metal.octaves) == (
        5.1,
        32,
        4000,
        1.5,
    )
    noise = instrument({"type": "NoiseSynth"}).params
    assert (noise.noise.type, noise.envelope.decay, noise.envelope.sustain) == ("white", 0.1, 0)
    pluck = instrument({"type": "PluckSynth"}).params
    assert (pluck.attack_noise, pluck.dampening, pluck.resonance, pluck.release) == (
        1,
        4000,
        0.7,
        1,
    )


def test_polysynth_defaults_to_synth_voices() -> None:
    params = instrument({"type": "PolySynth"}).params
    assert (params.voice, params.max_polyphony) == ("Synth", 32)
    assert params.options.envelope.attack == 0.005


def test_polysynth_voice_options_take_that_voices_defaults() -> None:
    params = instrument(poly("FMSynth", harmonicity=2)).params
    assert (params.voice, params.options.harmonicity, params.options.modulation_index) == (
        "FMSynth",
        2,
        10,
    )


@pytest.mark.parametrize(
    "kind",
    ["Synth", "FMSynth", "AMSynth", "MembraneSynth", "MetalSynth", "NoiseSynth", "PluckSynth"],
)
def test_every_tonejs_instrument_is_accepted_bare_and_in_a_polysynth(kind: str) -> None:
    assert instrument({"type": kind}).type == kind
    assert instrument(poly(kind)).params.voice == kind


@pytest.mark.parametrize(
    "oscillator", ["sine", "fmsine", "amsquare", "fatsawtooth", "sawtooth8", "pulse", "pwm"]
)
def test_tonejs_oscillator_types_are_accepted(oscillator: str) -> None:
    spec = {"type": "Synth", "params": {"oscillator": {"type": oscillator}}}
    assert instrument(spec).params.oscillator.type == oscillator


def test_effects_take_tonejs_defaults() -> None:
    chorus = effect({"type": "Chorus"}).params
    assert (chorus.wet, chorus.frequency, chorus.delay_time, chorus.depth) == (0.5, 1.5, 3.5, 0.7)
    delay = effect({"type": "FeedbackDelay"}).params
    assert (delay.delay_time, delay.feedback, delay.wet) == (0.25, 0.125, 1)
    filt = effect({"type": "Filter"}).params
    assert (filt.type, filt.frequency, filt.rolloff, filt.q) == ("lowpass", 350, -12, 1)
    reverb = effect({"type": "Reverb"}).params
    assert (reverb.decay, reverb.pre_delay, reverb.wet) == (1.5, 0.01, 1)
    distortion = effect({"type": "Distortion"}).params
    assert (distortion.distortion, distortion.oversample) == (0.4, "none")
    assert effect({"type": "Gain"}).params.gain == 1


def test_bloom_takes_pmndrs_defaults() -> None:
    bloom = parse_project(copy.deepcopy(MINIMAL)).visualizer.bloom
    assert bloom.mode == "pmndrs"
    assert (bloom.intensity, bloom.luminance_threshold, bloom.luminance_smoothing) == (1, 1.0, 0.03)
    assert (bloom.mipmap_blur, bloom.radius, bloom.levels) == (True, 0.85, 8)


def test_visualizer_takes_its_defaults() -> None:
    visualizer = parse_project(copy.deepcopy(MINIMAL)).visualizer
    assert (visualizer.tone_mapping, visualizer.exposure, visualizer.seed) == ("none", 1, 0)
    assert visualizer.background == "#000000"
    camera = visualizer.camera
    assert (camera.fov, camera.distance, camera.orbit_beats) == (50, 12, 16)


@pytest.mark.parametrize(
    ("duration", "beats"),
    [("4n", 1), ("8n.", 0.75), ("16t", 1 / 6), ("1m", 4), ("2n", 2), ("192i", 1), ("96i", 0.5)],
)
def test_notation_durations_are_accepted(duration: str, beats: float) -> None:
    project = parse_project(changed(f"{NOTE}.duration", duration))
    note = project.tracks[0].notes[0]
    assert note.duration == duration
    assert math.isclose(project.note_beats(note), beats)


def test_a_measure_follows_the_time_signature() -> None:
    data = changed(f"{NOTE}.duration", "1m")
    data["timeSignature"] = [3, 4]
    project = parse_project(data)
    assert project.note_beats(project.tracks[0].notes[0]) == 3
    assert notation_to_beats("1m", (6, 8)) == 3


def test_notation_is_accepted_for_envelope_and_delay_times() -> None:
    data = changed(f"{ENV}.attack", "16n")
    data["tracks"][0]["effects"] = [{"type": "FeedbackDelay", "params": {"delayTime": "8n."}}]
    track = parse_project(data).tracks[0]
    synth, delay = track.instrument.params, track.effects[0].params
    assert isinstance(synth, SynthOptions)
    assert isinstance(delay, FeedbackDelayOptions)
    assert synth.envelope.attack == "16n"
    assert delay.delay_time == "8n."


def test_integers_are_accepted_where_numbers_are_expected() -> None:
    data = changed(f"{ENV}.attack", 1)
    data["tracks"][0]["volume"] = -6
    data["tracks"][0]["visual"] = {"intensity": 2}
    data["visualizer"] = {"exposure": 2, "bloom": {"radius": 1}}
    project = parse_project(data)
    assert project.bpm == 120 and isinstance(project.bpm, float)
    assert project.duration_beats == 16
    track = project.tracks[0]
    assert (track.volume, track.visual.intensity) == (-6, 2)
    synth = track.instrument.params
    assert isinstance(synth, SynthOptions)
    assert synth.envelope.attack == 1
    assert (project.visualizer.exposure, project.visualizer.bloom.radius) == (2, 1)


@pytest.mark.parametrize("style", ["bars", "rings", "particles", "orbs"])
def test_every_visual_style_is_accepted(style: str) -> None:
    assert parse_project(changed(f"{T0}.visual.style", style)).tracks[0].visual.style == style


def test_hex_colours_are_normalised_to_lower_case() -> None:
    project = parse_project(changed(f"{T0}.visual.color", "#FF2FD6"))
    assert project.tracks[0].visual.color == "#ff2fd6"


@pytest.mark.parametrize(
    "tone_mapping", ["none", "aces", "agx", "neutral", "reinhard", "cineon", "linear"]
)
def test_every_tone_mapping_is_accepted(tone_mapping: str) -> None:
    project = parse_project(changed("visualizer.toneMapping", tone_mapping))
    assert project.visualizer.tone_mapping == tone_mapping


def test_boundary_values_are_accepted() -> None:
    data = copy.deepcopy(MINIMAL)
    data["bpm"] = 1000
    data["tracks"][0]["notes"] = [
        {"beat": 0, "duration": 0.001, "pitch": 0, "velocity": 0},
        {"beat": 15, "duration": 1, "pitch": 127, "velocity": 1},
    ]
    data["tracks"][0]["pan"] = -1
    data["tracks"][0]["volume"] = 24
    data["visualizer"] = {"seed": 2**32 - 1, "bloom": {"levels": 12, "radius": 0}}
    project = parse_project(data)
    assert [n.pitch for n in project.tracks[0].notes] == [0, 127]


# --- Issue and InvalidInput -------------------------------------------------------------------


def test_an_issue_renders_path_message_and_value() -> None:
    issue = Issue("tracks[0].pan", "expected a value <= 1", 1.5)
    assert str(issue) == "tracks[0].pan: expected a value <= 1 (got 1.5)"
    assert str(Issue("tracks[0].id", "a value is required")) == "tracks[0].id: a value is required"
    assert str(Issue("", "not JSON")) == "not JSON"
    assert str(Issue("name", "expected a string", None)) == "name: expected a string (got null)"


def test_issue_to_json_has_path_message_and_value_only_when_shown() -> None:
    issue = Issue("bpm", "expected a number", "120")
    assert issue.to_json() == {"path": "bpm", "message": "expected a number", "value": "120"}
    assert Issue("name", "a value is required").to_json() == {
        "path": "name",
        "message": "a value is required",
    }
    assert json.loads(json.dumps(issue.to_json())) == issue.to_json()


def test_issues_from_parsing_serialise_to_json() -> None:
    issues = issues_of(changed("bpm", DELETE) | {"mood": ["happy"]})
    assert [i.to_json() for i in issues] == [
        {"path": "bpm", "message": "a value is required"},
        {"path": "mood", "message": "unknown field (not part of the format)"},
    ]


def test_summary_first_line_counts_the_errors() -> None:
    one = InvalidInput([Issue("bpm", "expected a value > 0", 0)], "project")
    assert one.summary() == "invalid project: 1 error\n  bpm: expected a value > 0 (got 0)"
    assert str(one) == one.summary()
    two = InvalidInput([Issue("a", "x"), Issue("b", "y")], "settings")
    assert two.summary().splitlines() == ["invalid settings: 2 errors", "  a: x", "  b: y"]


def test_invalid_input_needs_an_issue() -> None:
    with pytest.raises(ValueError, match="at least one issue"):
        InvalidInput([])


# --- the validate command ---------------------------------------------------------------------


def test_cli_validate_prints_ok_for_a_valid_project(tmp_path: Any, capsys: Any) -> None:
    path = tmp_path / "song.json"
    path.write_text(json.dumps(CONTRACT_EXAMPLE), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == "ok\n"
    assert err == ""


def test_cli_validate_prints_every_error_with_its_path(tmp_path: Any, capsys: Any) -> None:
    data = changed("bpm", -1)
    data["tracks"][0]["notes"][0]["velocity"] = 2
    data["format"] = "x"
    path = tmp_path / "song.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines == [
        "framefarm: format: expected 'framefarm.project/1' (got \"x\")",
        "framefarm: bpm: expected a value > 0 (got -1)",
        "framefarm: tracks[0].notes[0].velocity: expected a value <= 1 (got 2)",
    ]


def test_cli_validate_refuses_a_missing_file_in_one_line(tmp_path: Any, capsys: Any) -> None:
    path = tmp_path / "nowhere.json"
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("framefarm: cannot read ")
    assert "nowhere.json" in err
    assert "No such file" in err


def test_cli_validate_refuses_a_non_json_file_in_one_line(tmp_path: Any, capsys: Any) -> None:
    path = tmp_path / "song.json"
    path.write_text("{oops", encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"framefarm: {path}: not JSON: ")
    assert "line 1 column 2" in err
