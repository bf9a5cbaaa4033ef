"""The ``framefarm`` command: one subcommand per job, each importing only what it needs.

Bad input prints one line per problem on stderr and exits 2; nothing prints a traceback for a
mistake the user can fix.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from fractions import Fraction

from common.errors import FramefarmError, InvalidInput, Issue

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except InvalidInput as error:
        for issue in error.issues:
            print(f"framefarm: {issue}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FramefarmError as error:
        print(f"framefarm: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("framefarm: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="framefarm",
        description="Export a music project's visualization to video, offline and faster than "
        "real time.",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    validate = commands.add_parser(
        "validate",
        help="check a project file (and optional export settings); print ok or every error",
        description="Validate a project JSON file against project format v1. Prints 'ok', or one "
        "line per error naming its JSON path, and exits 2 if there are errors.",
    )
    validate.add_argument("project", metavar="PROJECT", help="project JSON file")
    validate.add_argument(
        "--settings", metavar="JSON_OR_FILE", help="export settings as JSON text or a file path"
    )
    validate.set_defaults(handler=_validate)

    scene = commands.add_parser(
        "scene",
        help="print the scene state (camera and visual objects) of a project at one moment",
        description="Compute the visual objects of a project at a time and print them as JSON.",
    )
    scene.add_argument("project", metavar="PROJECT", help="project JSON file")
    when = scene.add_mutually_exclusive_group(required=True)
    when.add_argument("--time", metavar="SECONDS", help="seconds from beat 0 (e.g. 2.5 or 5/2)")
    when.add_argument("--beat", metavar="BEAT", help="a beat position (e.g. 16 or 33/2)")
    scene.add_argument("--summary", action="store_true", help="print counts, not every object")
    scene.set_defaults(handler=_scene)
    return parser


def _validate(args: argparse.Namespace) -> int:
    from common.config import Limits
    from common.validation import load_project_file, plan_export, read_json_file

    project = load_project_file(args.project)
    if args.settings is not None:
        from common.validation import parse_settings

        text = args.settings.strip()
        data = json.loads(text) if text.startswith("{") else read_json_file(text, "settings")
        plan_export(project, parse_settings(data, "settings"), Limits())
    print("ok")
    return EXIT_OK


def _scene(args: argparse.Namespace) -> int:
    from common.scene import SceneModel
    from common.validation import load_project_file

    project = load_project_file(args.project)
    model = SceneModel.from_project(project)
    try:
        if args.time is not None:
            seconds = Fraction(args.time)
        else:
            seconds = project.tempo_map.beat_to_time(Fraction(args.beat))
    except (ValueError, ZeroDivisionError):
        problem = Issue("--time/--beat", "expected a number or a fraction like 5/2")
        raise InvalidInput([problem]) from None
    scene = model.at(seconds)
    out: dict[str, object] = {
        "seconds": scene.seconds,
        "beat": scene.beat,
        "camera": {
            "eye": scene.camera.eye,
            "target": scene.camera.target,
            "fov": scene.camera.fov_degrees,
        },
        "counts": {batch.kind: len(batch) for batch in scene.batches},
        "digest": scene.digest(),
    }
    if not args.summary:
        out["objects"] = [
            {"kind": o.kind, "track": o.track_id, "transform": o.transform, "emission": o.emission}
            for o in scene.objects()
        ]
    json.dump(out, sys.stdout, indent=None if not args.summary else 2)
    print()
    return EXIT_OK
