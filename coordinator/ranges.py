"""A request's ``range``: the export's start and end as the musician typed them (``bar:beat`` in
the project's meter, or ``m:ss`` on its clock), read by the server into the settings' startBeat
and endBeat, so that the page never does tempo-map arithmetic of its own."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from common.config import Limits
from common.errors import InvalidInput, Issue
from common.format.export_settings import ExportSettings
from common.format.positions import UNITS, PositionError, read_position
from common.format.validation import Export, build_export

_ENDS = (("start", "startBeat"), ("end", "endBeat"))


def with_range(export: Export, data: Any, limits: Limits) -> Export:
    """``export`` with its range replaced by ``data`` (``{"unit", "start", "end"}``, either end
    left out for the song's own); InvalidInput naming ``range.*`` for what cannot be read, and
    the settings' own issues (``settings.startBeat``...) for a range the song does not have."""
    if not isinstance(data, dict):
        raise InvalidInput([Issue("range", 'expected {"unit": ..., "start": ..., "end": ...}')])
    issues = [
        Issue(f"range.{key}", "unknown field (expected unit, start and end)")
        for key in sorted(set(data) - {"unit", "start", "end"})
    ]
    unit = data.get("unit")
    if unit not in UNITS:
        issues.append(Issue("range.unit", f"expected one of {', '.join(UNITS)}", unit))
    beats: dict[str, Fraction] = {}
    for end, setting in _ENDS:
        text = data.get(end)
        if text is None or text == "":
            continue
        if setting in export.settings_json:
            issues.append(
                Issue(f"range.{end}", f"give settings.{setting} or range.{end}, not both")
            )
        elif not isinstance(text, str):
            issues.append(Issue(f"range.{end}", "expected a string", text))
        elif unit in UNITS:
            project = export.project
            try:
                beats[setting] = read_position(
                    text, unit, project.time_signature, project.tempo_map
                )
            except PositionError as error:
                issues.append(Issue(f"range.{end}", str(error), text))
    if "endBeat" in beats and beats["endBeat"] <= 0:
        issues.append(Issue("range.end", "expected a moment after the song's start", data["end"]))
    if issues:
        raise InvalidInput(issues, "export")
    settings_json = {**export.settings_json, **{k: float(v) for k, v in beats.items()}}
    settings = ExportSettings.model_validate(settings_json)
    return build_export(
        export.project, settings, limits, source=(export.project_json, settings_json)
    )
