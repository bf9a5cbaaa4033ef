"""Turn raw JSON into a validated export, or into every problem found, each with its JSON path."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from common.config import Limits
from common.errors import NO_VALUE, InvalidInput, Issue, LimitExceeded
from common.format.export_settings import (
    CHROMA_SUBSAMPLED_FORMATS,
    CRF_RANGE,
    GIF_EXACT_FPS,
    ExportSettings,
)
from common.format.project import CrossFieldError, Project
from common.timing.framerate import FrameTimeline

M = TypeVar("M", bound=BaseModel)


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


def load_project_file(path: str | Path) -> Project:
    """Read and validate a project file; unreadable or non-JSON files are InvalidInput too."""
    return parse_project(read_json_file(path, "project"))


def read_json_file(path: str | Path, what: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput([Issue("", f"cannot read {path}: {error.strerror}")], what) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        message = f"not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        raise InvalidInput([Issue("", message)], what) from None


def build_export(
    project: Project,
    settings: ExportSettings,
    limits: Limits,
    *,
    source: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> Export:
    """Check settings against the project and the service limits; every problem is reported.

    ``source`` is the JSON (project, settings) the models were read from; without it the models'
    own JSON stands in.
    """
    problems = _settings_issues(project, settings)
    range_ok = not any(i.path in ("settings.startBeat", "settings.endBeat") for i in problems)
    beyond = _limit_issues(project, settings, limits, durations=range_ok)
    if beyond:
        raise LimitExceeded(problems + beyond, "export")
    if problems:
        raise InvalidInput(problems, "export")
    tempo = project.tempo_map
    end_beat = _end_beat(project, settings)
    timeline = FrameTimeline.between(
        tempo.beat_to_time(settings.start_beat), tempo.beat_to_time(end_beat), settings.frame_rate
    )
    if source is None:
        source = (
            project.model_dump(mode="json", by_alias=True),
            settings.model_dump(mode="json", by_alias=True, exclude_none=True),
        )
    return Export(project, settings, timeline, *source)


def validate_export(project_data: Any, settings_data: Any, limits: Limits) -> Export:
    """Validate a project and its settings together, listing the problems of both at once.

    Paths start with ``project.`` or ``settings.``, as in the API's request body.
    """
    issues: list[Issue] = []
    project: Project | None = None
    settings: ExportSettings | None = None
    try:
        project = parse_project(project_data, "project")
    except InvalidInput as error:
        issues.extend(error.issues)
    try:
        settings = parse_settings({} if settings_data is None else settings_data, "settings")
    except InvalidInput as error:
        issues.extend(error.issues)
    if issues or project is None or settings is None:
        raise InvalidInput(issues, "export")
    settings_json = {} if settings_data is None else settings_data
    return build_export(project, settings, limits, source=(project_data, settings_json))


def _parse(model: type[M], data: Any, prefix: str, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidInput(issues_from_pydantic(error, data, prefix), what) from None


def issues_from_pydantic(error: ValidationError, data: Any, prefix: str = "") -> list[Issue]:
    issues: list[Issue] = []
    for detail in error.errors():
        context = detail.get("ctx") or {}
        cause = context.get("error")
        if isinstance(cause, CrossFieldError):
            issues.extend(_prefix(p, prefix) for p in cause.problems)
            continue
        path = json_path(detail["loc"], data, prefix)
        issues.append(Issue(path, _message(detail), _shown_value(detail)))
    return issues


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
    return value


def _prefix(issue: Issue, prefix: str) -> Issue:
    path = f"{prefix}.{issue.path}" if prefix and issue.path else (issue.path or prefix)
    return Issue(path.replace(".[", "["), issue.message, issue.value)


def _settings_issues(project: Project, settings: ExportSettings) -> list[Issue]:
    """Settings that contradict the format or the project (not service limits)."""
    issues: list[Issue] = []
    fmt = settings.format
    if fmt in CHROMA_SUBSAMPLED_FORMATS:
        for name, size in (("width", settings.width), ("height", settings.height)):
            if size % 2:
                message = f"expected an even number for {fmt} (its chroma is subsampled 2x2)"
                issues.append(Issue(f"settings.{name}", message, size))
    if fmt == "gif" and (Fraction(100) / settings.frame_rate).denominator != 1:
        message = (
            f"expected one of {', '.join(map(str, GIF_EXACT_FPS))} for gif "
            "(GIF frame delays are whole hundredths of a second)"
        )
        issues.append(Issue("settings.fps", message, settings.fps))
    if fmt in CRF_RANGE:
        low, high = CRF_RANGE[fmt]
        if not low <= settings.crf <= high:
            issues.append(Issue("settings.crf", f"expected {low}..{high} for {fmt}", settings.crf))
    end_beat = _end_beat(project, settings)
    if end_beat > project.duration_beats:
        message = f"expected at most the project's durationBeats ({project.duration_beats:g})"
        issues.append(Issue("settings.endBeat", message, end_beat))
    if settings.start_beat >= end_beat:
        message = f"expected a beat before endBeat ({end_beat:g})"
        issues.append(Issue("settings.startBeat", message, settings.start_beat))
    return issues


def _limit_issues(
    project: Project, settings: ExportSettings, limits: Limits, *, durations: bool
) -> list[Issue]:
    """Requests beyond the service's configured limits; each message names its limit.

    ``durations`` is False when the beat range itself is wrong: then length is not checked.
    """
    issues: list[Issue] = []

    def refuse(path: str, message: str, limit_name: str, value: Any) -> None:
        issues.append(Issue(path, f"{message} (limit {limit_name})", value))

    width, height = settings.width, settings.height
    if width > limits.max_width:
        refuse("settings.width", f"expected at most {limits.max_width}", "max_width", width)
    if height > limits.max_height:
        refuse("settings.height", f"expected at most {limits.max_height}", "max_height", height)
    if width * height > limits.max_pixels:
        message = f"{width}x{height} = {width * height} pixels, over {limits.max_pixels}"
        refuse("settings.width", message, "max_pixels", width)
    fps = settings.frame_rate
    if fps > limits.max_fps:
        refuse("settings.fps", f"expected at most {limits.max_fps}", "max_fps", settings.fps)
    if durations:
        tempo = project.tempo_map
        end_beat = _end_beat(project, settings)
        seconds = tempo.beat_to_time(end_beat) - tempo.beat_to_time(settings.start_beat)
        if seconds > limits.max_duration_seconds:
            message = (
                f"the export lasts {float(seconds):.1f} s, over {limits.max_duration_seconds:g} s"
            )
            refuse("settings.endBeat", message, "max_duration_seconds", end_beat)
        frames = FrameTimeline.between(0, seconds, fps).count
        if frames > limits.max_frames:
            message = f"the export needs {frames} frames, over {limits.max_frames}"
            refuse("settings.fps", message, "max_frames", settings.fps)
    notes = sum(len(t.notes) for t in project.tracks)
    if notes > limits.max_notes:
        message = f"{notes} notes, over {limits.max_notes}"
        refuse("project.tracks", message, "max_notes", notes)
    tracks = len(project.tracks)
    if tracks > limits.max_tracks:
        message = f"{tracks} tracks, over {limits.max_tracks}"
        refuse("project.tracks", message, "max_tracks", tracks)
    return issues


def _end_beat(project: Project, settings: ExportSettings) -> float:
    return settings.end_beat if settings.end_beat is not None else project.duration_beats
