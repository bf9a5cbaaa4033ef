"""Turn raw JSON into a validated export, or into every problem found, each with its JSON path."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from common.config import Limits
from common.errors import NO_VALUE, InvalidInput, Issue, LimitExceeded
from common.format import jsonread
from common.format.export_settings import (
    CHROMA_SUBSAMPLED_FORMATS,
    CRF_RANGE,
    GIF_EXACT_FPS,
    ExportSettings,
)
from common.format.project import (
    FORMAT_V1,
    CrossFieldError,
    Project,
    order_and_identity_problems,
)
from common.timing.framerate import FrameTimeline

M = TypeVar("M", bound=BaseModel)
DEFAULT_LIMITS = Limits.model_construct()
"""The limits' defaults, for reading files where no configuration is at hand."""


@dataclass(frozen=True, slots=True)
class Export:
    """A project and settings that passed every check, with the exact frame timeline, and the
    JSON they were read from (what a job's spec stores: one object, so the two cannot disagree).
    """

    project: Project
    settings: ExportSettings
    timeline: FrameTimeline
    project_json: dict[str, Any]
    settings_json: dict[str, Any]

    @property
    def frame_count(self) -> int:
        return self.timeline.count


def parse_project(data: Any, prefix: str = "") -> Project:
    return _parse(Project, data, prefix, "project")


def parse_settings(data: Any, prefix: str = "") -> ExportSettings:
    return _parse(ExportSettings, data, prefix, "settings")


def load_project_file(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Project:
    """Read and validate a project file; unreadable or non-JSON files are InvalidInput too."""
    return parse_project(read_json_file(path, "project", limits))


def read_json_file(path: str | Path, what: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """A JSON file within ``limits``' nesting and integer sizes; problems name the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise InvalidInput([Issue("", f"cannot read {path}: {error.strerror}")], what) from None
    try:
        return jsonread.loads(data, limits, what)
    except InvalidInput as error:
        issues = [Issue(i.path, f"{path}: {i.message}", i.value) for i in error.issues]
        raise InvalidInput(issues, what) from None


def build_export(
    project: Project,
    settings: ExportSettings,
    limits: Limits,
    *,
    source: tuple[dict[str, Any], dict[str, Any]],
) -> Export:
    """Check settings against the project and the service limits; every problem is reported.

    ``source`` is the JSON (project, settings) the models were read from: the job's spec stores
    it, and the project's notes and tracks are counted in it.
    """
    _raise_if_any([], project, settings, source[0], limits, frozenset())
    tempo = project.tempo_map
    end_beat = _end_beat(project, settings)
    timeline = FrameTimeline.between(
        tempo.beat_to_time(settings.start_beat), tempo.beat_to_time(end_beat), settings.frame_rate
    )
    return Export(project, settings, timeline, *source)


def validate_export(project_data: Any, settings_data: Any, limits: Limits) -> Export:
    """Validate a project and its settings together, in one pass: field, cross-field and limit
    problems of both, all at once (a field that is wrong only leaves out the checks that need
    its value). Paths start with ``project.`` or ``settings.``, as in the API's request body.
    """
    settings_json = {} if settings_data is None else settings_data
    issues: list[Issue] = []
    project, project_bad = _salvage_project(project_data, issues, limits.max_issues)
    settings, settings_bad = _salvage(
        ExportSettings, settings_json, "settings", issues, limits.max_issues
    )
    _raise_if_any(issues, project, settings, project_data, limits, project_bad | settings_bad)
    if project is None or settings is None:  # unreachable: a failed model has issues
        raise InvalidInput([Issue("", "invalid export")], "export")
    return build_export(project, settings, limits, source=(project_data, settings_json))


def validate_project(project_data: Any, limits: Limits) -> Project:
    """A project alone, in one pass: field and cross-field problems and the project's own limits
    (notes, tracks), all at once; paths as in the project file."""
    issues: list[Issue] = []
    project, _ = _salvage_project(project_data, issues, limits.max_issues)
    issues += _limit_issues(None, None, project_data, limits)
    if issues or project is None:
        issues = [Issue(_in_file(i.path), i.message, i.value) for i in issues]
        raise InvalidInput(bounded(issues, limits.max_issues), "project")
    return project


def _raise_if_any(
    issues: list[Issue],
    project: Project | None,
    settings: ExportSettings | None,
    project_data: Any,
    limits: Limits,
    bad: frozenset[str],
) -> None:
    """Add the cross-field and limit issues (those whose fields are sound) and raise all of
    them, at most ``limits.max_issues``: LimitExceeded when any limit is passed."""
    problems = list(issues)
    if settings is not None:
        problems += _settings_issues(project, settings, bad)
    wrong_range = {i.path for i in problems if i.path in _RANGE_FIELDS}  # a contradiction
    beyond = _limit_issues(project, settings, project_data, limits, bad | wrong_range)
    if not problems and not beyond:
        return
    error = LimitExceeded if beyond else InvalidInput
    raise error(bounded(problems + beyond, limits.max_issues), "export")


def bounded(issues: list[Issue], most: int) -> list[Issue]:
    """At most ``most`` issues, the last line saying how many more there were."""
    if len(issues) <= most:
        return issues
    more = len(issues) - most
    return [*issues[:most], Issue("", f"and {more} more (limit max_issues {most})")]


def _salvage_project(
    project_data: Any, issues: list[Issue], most: int
) -> tuple[Project | None, frozenset[str]]:
    """``_salvage`` of the project, and its cross-field rules on the JSON as it came: they run
    even when field errors stop pydantic before its model validator."""
    project, bad = _salvage(Project, project_data, "project", issues, most)
    if isinstance(project_data, Mapping):
        found = {(i.path, i.message) for i in issues}
        issues.extend(i for i in _raw_cross_field(project_data) if (i.path, i.message) not in found)
    return project, bad


def _salvage(
    model: type[M], data: Any, prefix: str, issues: list[Issue], most: int
) -> tuple[M | None, frozenset[str]]:
    """The model, or its issues (added to ``issues``) and the model read without the top-level
    fields that are wrong (placeholders for required ones), so that checks on the sound fields
    still run; the wrong fields come back as ``prefix.field`` names. A required field that is
    absent is among them: its own "missing" error names it."""
    try:
        return model.model_validate(data), frozenset()
    except ValidationError as error:
        details = error.errors(include_url=False)
        issues.extend(issues_from_pydantic(details, data, prefix, most=most))
        if not isinstance(data, Mapping):
            return None, frozenset({prefix})
        bad = {f for detail in details for f in _top_fields(detail)}
    fields = {f.alias or name for name, f in model.model_fields.items()}
    for _ in range(3):  # each round may uncover cross-field rules on what is left
        kept = {k: v for k, v in data.items() if k not in bad and k in fields}
        try:
            salvaged = model.model_validate({**_PLACEHOLDERS.get(prefix, {}), **kept})
        except ValidationError as error:
            bad |= {f for detail in error.errors(include_url=False) for f in _top_fields(detail)}
            continue
        return salvaged, frozenset(f"{prefix}.{f}" for f in bad)
    return None, frozenset({prefix})


_PLACEHOLDERS: dict[str, dict[str, Any]] = {
    "project": {"format": FORMAT_V1, "name": "-", "bpm": 120, "durationBeats": 1},
}
"""Stand-ins for required fields that are wrong, so the rest can be checked; every check that
reads one of them is skipped (its name is in the ``bad`` set)."""


def _top_fields(detail: ErrorDetails) -> set[str]:
    """The top-level fields an error is about (a cross-field rule names each of its own)."""
    cause = (detail.get("ctx") or {}).get("error")
    if isinstance(cause, CrossFieldError):
        return {p.path.split("[")[0].split(".")[0] for p in cause.problems}
    return {str(detail["loc"][0])} if detail["loc"] else {""}


def _in_file(path: str) -> str:
    """``project.tracks[0]`` as the project file names it: ``tracks[0]``."""
    return "" if path == "project" else path.removeprefix("project.")


def _raw_cross_field(data: Mapping[str, Any], prefix: str = "project") -> list[Issue]:
    """The project's cross-field rules on raw JSON (whatever else is wrong), prefixed."""
    changes, tracks = data.get("tempoChanges"), data.get("tracks")
    beats = [c.get("beat") if isinstance(c, Mapping) else None for c in _items(changes)]
    ids = [t.get("id") if isinstance(t, Mapping) else None for t in _items(tracks)]
    return [_prefix(p, prefix) for p in order_and_identity_problems(beats, ids)]


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _parse(model: type[M], data: Any, prefix: str, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        details = error.errors(include_url=False)
        raise InvalidInput(issues_from_pydantic(details, data, prefix), what) from None


def issues_from_pydantic(
    details: Sequence[ErrorDetails], data: Any, prefix: str = "", *, most: int | None = None
) -> list[Issue]:
    """Every error of a ``ValidationError.errors()`` as an issue with its JSON path; past the
    first ``most``, each is only counted (``UNSHOWN``), since ``bounded`` lists no more: 300k
    bad notes cost no 300k paths. It takes the details, not the error, so that a caller that
    reads them too (``_salvage``) reads them once.
    """
    issues: list[Issue] = []
    for detail in details:
        if most is not None and len(issues) >= most:
            issues.append(UNSHOWN)
            continue
        context = detail.get("ctx") or {}
        cause = context.get("error")
        if isinstance(cause, CrossFieldError):
            issues.extend(_prefix(p, prefix) for p in cause.problems)
            continue
        path = json_path(detail["loc"], data, prefix)
        issues.append(Issue(path, _message(detail), _shown_value(detail)))
    return issues


UNSHOWN = Issue("", "(not shown)")
"""Stands for an issue past the number listed: counted in "and N more", never shown."""


def json_path(loc: Sequence[int | str], data: Any, prefix: str = "") -> str:
    """``tracks[2].instrument.params.envelope.attack`` from a pydantic error location.

    pydantic adds steps that are not keys in the input (the tag of a tagged union, the branch of
    a plain union); walking the input alongside the location drops them. The last step is kept
    even when absent: it names a missing field.
    """
    parts: list[str] = [prefix] if prefix else []
    node = data
    for index, step in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node):
            parts.append(f"[{step}]")
            node = node[step]
        elif isinstance(step, str) and isinstance(node, Mapping) and step in node:
            parts.append(f".{step}")
            node = node[step]
        elif last and isinstance(step, str) and isinstance(node, Mapping):
            parts.append(f".{step}")
    return "".join(parts).lstrip(".")


_EXPECTATIONS = {
    "missing": "a value is required",
    "extra_forbidden": "unknown field (not part of the format)",
    "int_type": "expected an integer",
    "float_type": "expected a number",
    "string_type": "expected a string",
    "bool_type": "expected true or false",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "list_type": "expected an array",
    "tuple_type": "expected an array",
    "model_attributes_type": "expected an object",
    "finite_number": "expected a finite number",
}


def _message(detail: ErrorDetails) -> str:
    kind, context = detail["type"], detail.get("ctx") or {}
    if kind in _EXPECTATIONS:
        return _EXPECTATIONS[kind]
    bounds = {
        "greater_than": "expected a value > {gt}",
        "greater_than_equal": "expected a value >= {ge}",
        "less_than": "expected a value < {lt}",
        "less_than_equal": "expected a value <= {le}",
        "string_too_short": "expected at least {min_length} character(s)",
        "string_too_long": "expected at most {max_length} characters",
        "too_short": "expected at least {min_length} item(s)",
        "too_long": "expected at most {max_length} items",
    }
    if kind in bounds:
        return bounds[kind].format(**{k: _number(v) for k, v in context.items()})
    if kind == "literal_error":
        return f"expected {context.get('expected')}"
    if kind == "union_tag_invalid":
        field, tag, tags = (
            context.get("discriminator"),
            context.get("tag"),
            context.get("expected_tags"),
        )
        return f"unknown {str(field).strip(chr(39))} {tag!r}; expected one of {tags}"
    if kind == "bloom_mode":
        mode = (
            detail.get("input", {}).get("mode")
            if isinstance(detail.get("input"), Mapping)
            else None
        )
        return f"unknown mode {mode!r}; expected 'pmndrs' (the default) or 'unreal'"
    if kind == "union_tag_not_found":
        return f"expected a {context.get('discriminator')} field"
    message = detail["msg"]
    return message.removeprefix("Value error, ")


def _number(value: Any) -> Any:
    return f"{value:g}" if isinstance(value, float) else value


def _shown_value(detail: ErrorDetails) -> Any:
    if detail["type"] in ("missing", "union_tag_not_found", "union_tag_invalid"):
        return NO_VALUE
    value = detail.get("input")
    if isinstance(value, Mapping | list) and len(value) > 0:
        return NO_VALUE  # the path points at it; echoing a whole subtree helps nobody
    if isinstance(value, str) and len(value) > SHOWN_CHARACTERS:
        return f"{value[:SHOWN_CHARACTERS]}... ({len(value)} characters)"
    return value


SHOWN_CHARACTERS = 80
"""A long string in an issue is shown cut to this many characters (the path points at it)."""


def _prefix(issue: Issue, prefix: str) -> Issue:
    path = f"{prefix}.{issue.path}" if prefix and issue.path else (issue.path or prefix)
    return Issue(path.replace(".[", "["), issue.message, issue.value)


def _settings_issues(
    project: Project | None, settings: ExportSettings, bad: frozenset[str] = frozenset()
) -> list[Issue]:
    """Settings that contradict the format or the project (not service limits); a check that
    reads a field named in ``bad`` (wrong, its own issue says so) is skipped."""
    issues: list[Issue] = []

    def sound(*fields: str) -> bool:
        return not bad.intersection(fields)

    fmt = settings.format
    if fmt in CHROMA_SUBSAMPLED_FORMATS:
        for name, size in (("width", settings.width), ("height", settings.height)):
            if size % 2 and sound("settings.format", f"settings.{name}"):
                message = f"expected an even number for {fmt} (its chroma is subsampled 2x2)"
                issues.append(Issue(f"settings.{name}", message, size))
    gif_rate = fmt == "gif" and (Fraction(100) / settings.frame_rate).denominator != 1
    if gif_rate and sound("settings.format", "settings.fps"):
        message = (
            f"expected one of {', '.join(map(str, GIF_EXACT_FPS))} for gif "
            "(GIF frame delays are whole hundredths of a second)"
        )
        issues.append(Issue("settings.fps", message, settings.fps))
    if fmt in CRF_RANGE and sound("settings.format", "settings.crf"):
        low, high = CRF_RANGE[fmt]
        if not low <= settings.crf <= high:
            issues.append(Issue("settings.crf", f"expected {low}..{high} for {fmt}", settings.crf))
    if project is None or not sound("project.durationBeats", "settings.endBeat"):
        return issues
    end_beat = _end_beat(project, settings)
    if end_beat > project.duration_beats:
        message = f"expected at most the project's durationBeats ({project.duration_beats:g})"
        issues.append(Issue("settings.endBeat", message, end_beat))
    if settings.start_beat >= end_beat and sound("settings.startBeat"):
        message = f"expected a beat before endBeat ({end_beat:g})"
        issues.append(Issue("settings.startBeat", message, settings.start_beat))
    return issues


_RANGE_FIELDS = (
    "project",
    "project.bpm",
    "project.tempoChanges",
    "project.durationBeats",
    "settings",
    "settings.startBeat",
    "settings.endBeat",
    "settings.fps",
)
"""What the video's length is made of: with any of them wrong, its length is not checked."""


def _limit_issues(
    project: Project | None,
    settings: ExportSettings | None,
    project_data: Any,
    limits: Limits,
    bad: frozenset[str] = frozenset(),
) -> list[Issue]:
    """Requests beyond the service's configured limits; each message names its limit.

    Sizes and rates are checked when their fields are sound; the video's length (frames / fps,
    exact) when every field it is made of is; note and track counts on the JSON as it came.
    """
    issues: list[Issue] = []

    def refuse(path: str, message: str, limit_name: str, value: Any) -> None:
        issues.append(Issue(path, f"{message} (limit {limit_name})", value))

    if settings is not None:
        width, height = settings.width, settings.height
        if "settings.width" not in bad and width > limits.max_width:
            refuse("settings.width", f"expected at most {limits.max_width}", "max_width", width)
        if "settings.height" not in bad and height > limits.max_height:
            message = f"expected at most {limits.max_height}"
            refuse("settings.height", message, "max_height", height)
        sizes_sound = not bad.intersection(("settings.width", "settings.height"))
        if sizes_sound and width * height > limits.max_pixels:
            message = f"{width}x{height} = {width * height} pixels, over {limits.max_pixels}"
            refuse("settings.width", message, "max_pixels", width)
        fps = settings.frame_rate
        if "settings.fps" not in bad and fps > limits.max_fps:
            refuse("settings.fps", f"expected at most {limits.max_fps}", "max_fps", settings.fps)
        if "settings.fps" not in bad and fps < Fraction(repr(limits.min_fps)):
            message = f"expected at least {limits.min_fps:g}"
            refuse("settings.fps", message, "min_fps", settings.fps)
        if project is not None and not bad.intersection(_RANGE_FIELDS):
            _length_issues(project, settings, limits, refuse)
    notes, tracks = _counts(project_data)
    if notes > limits.max_notes:
        refuse("project.tracks", f"{notes} notes, over {limits.max_notes}", "max_notes", notes)
    if tracks > limits.max_tracks:
        message = f"{tracks} tracks, over {limits.max_tracks}"
        refuse("project.tracks", message, "max_tracks", tracks)
    return issues


def _length_issues(
    project: Project,
    settings: ExportSettings,
    limits: Limits,
    refuse: Callable[[str, str, str, Any], None],
) -> None:
    """The video's length is its frames / fps (exact), not the beat range: a very low rate
    stretches a short range into a long video."""
    tempo, fps = project.tempo_map, settings.frame_rate
    end_beat = _end_beat(project, settings)
    song = tempo.beat_to_time(end_beat) - tempo.beat_to_time(settings.start_beat)
    frames = math.ceil(song * fps)
    video = frames / fps
    longest = Fraction(repr(limits.max_duration_seconds))
    if song > longest:
        message = f"the export lasts {_seconds(song)} s, over {limits.max_duration_seconds:g} s"
        refuse("settings.endBeat", message, "max_duration_seconds", end_beat)
    elif video > longest:
        message = (
            f"{frames} frame(s) at {settings.fps} fps make a {_seconds(video)} s video, over "
            f"{limits.max_duration_seconds:g} s"
        )
        refuse("settings.fps", message, "max_duration_seconds", settings.fps)
    if frames > limits.max_frames:
        shown = frames if frames < 10**15 else "more than 10^15"
        message = f"the export needs {shown} frames, over {limits.max_frames}"
        refuse("settings.fps", message, "max_frames", settings.fps)


def _seconds(value: Fraction) -> str:
    """A length for a message, even one too long for a float."""
    return f"{float(value):.1f}" if value < 10**15 else "more than 10^15"


def _counts(project_data: Any) -> tuple[int, int]:
    """Notes and tracks in the project JSON, whatever else is wrong with it."""
    if not isinstance(project_data, Mapping):
        return 0, 0
    tracks = _items(project_data.get("tracks"))
    notes = sum(len(_items(t.get("notes"))) for t in tracks if isinstance(t, Mapping))
    return notes, len(tracks)


def _end_beat(project: Project, settings: ExportSettings) -> float:
    return settings.end_beat if settings.end_beat is not None else project.duration_beats
