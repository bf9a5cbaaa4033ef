"""The ``framefarm`` command: one subcommand per job, each importing only what it needs.

Bad input prints one line per problem on stderr and exits 2; nothing prints a traceback for a
mistake the user can fix.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

from common.errors import FramefarmError, InvalidInput, Issue
from framefarm.interrupt import InterruptedByUser, exit_interrupted, stop_was_requested

if TYPE_CHECKING:
    from pathlib import Path

    Commands = argparse._SubParsersAction[argparse.ArgumentParser]
    from common.config import Config, ServiceSettings
    from common.format.validation import Export

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2

Handler = Callable[[argparse.Namespace, "Config"], int]


def main(argv: Sequence[str] | None = None) -> int:
    from common.config import Config

    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        config = Config.from_environment()
        if args.log_format is not None:
            service = config.service.model_copy(update={"log_format": args.log_format})
            config = dataclasses.replace(config, service=service)
        from framefarm.logs import configure_logging

        configure_logging(config.service.log_format, logging.WARNING)
        return handler(args, config)
    except InvalidInput as error:
        for issue in error.issues:
            print(f"framefarm: {issue}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FramefarmError as error:
        if stop_was_requested():
            exit_interrupted()
        print(f"framefarm: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("framefarm: interrupted", file=sys.stderr)
        return 130
    except InterruptedByUser:
        # The job was cancelled; its child processes (the soundtrack's, ffmpeg) are ended rather
        # than waited for, and threads still letting go are daemons.
        exit_interrupted()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="framefarm",
        description="Export a music project's visualization to video, offline and faster than "
        "real time.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    _add_inspection_commands(commands)
    _add_render_command(commands)
    _add_service_commands(commands)
    _add_audio_parser(commands)
    _add_health_command(commands)
    for command in commands.choices.values():
        command.add_argument(
            "--log-format",
            choices=("text", "json"),
            default=None,
            help="log lines as text, or one JSON object a line with the job id, chunk and stage "
            "(default: FRAMEFARM_LOG_FORMAT, else text)",
        )
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("framefarm")
    except PackageNotFoundError:
        return "(not installed)"


def _add_inspection_commands(commands: Commands) -> None:
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

    frame = commands.add_parser(
        "frame",
        help="render one frame of an export to a PNG file",
        description="Render frame N of the export (frame 0 shows --start-beat) to a PNG file.",
    )
    frame.add_argument("project", metavar="PROJECT", help="project JSON file")
    frame.add_argument("--frame", type=int, required=True, metavar="N", help="frame index, from 0")
    frame.add_argument("-o", "--output", required=True, metavar="FILE.png", help="PNG to write")
    _add_settings_flags(frame)
    frame.set_defaults(handler=_frame)

    frames = commands.add_parser(
        "frames",
        help="render a range of frames of an export to numbered PNG files",
        description="Render frames A..B-1 of the export to DIR/frame_000000.png and on.",
    )
    frames.add_argument("project", metavar="PROJECT", help="project JSON file")
    frames.add_argument(
        "--range",
        default=None,
        metavar="A:B",
        help="frames A (inclusive) to B (exclusive); all by default",
    )
    frames.add_argument("--out", required=True, metavar="DIR", help="folder for the PNG files")
    _add_settings_flags(frames)
    frames.set_defaults(handler=_frames)


def _add_render_command(commands: Commands) -> None:
    render = commands.add_parser(
        "render",
        help="export a project to a video file (embedded farm, or a running distributed one)",
        description="Render PROJECT to a video: frames in chunks on render workers, encoded "
        "with ffmpeg in segments while they render, then joined. By default everything runs "
        "in this process (no services needed); with --distributed the job goes to the farm "
        "configured by FRAMEFARM_* variables; with --direct one process pipes raw frames into "
        "ffmpeg (the baseline the farm is measured against). The output path is checked before "
        "anything renders (its folder must exist). Ctrl-C stops the export and removes its "
        "temporary files; a second Ctrl-C exits at once.",
    )
    render.add_argument("project", metavar="PROJECT", help="project JSON file")
    render.add_argument("-o", "--output", required=True, metavar="FILE", help="video file to write")
    _add_settings_flags(render)
    video = render.add_argument_group("video")
    video.add_argument(
        "--format",
        choices=("mp4", "webm", "mov", "gif"),
        help="container/codec (default: from the output's extension, else mp4)",
    )
    video.add_argument(
        "--crf", type=int, default=18, help="quality for mp4/webm, lower is better (default 18)"
    )
    video.add_argument("--preset", default="medium", help="x264 preset (default medium)")
    video.add_argument(
        "--no-audio", action="store_true", help="leave the soundtrack out (GIF never has one)"
    )
    farm = render.add_argument_group("farm")
    farm.add_argument(
        "--workers", type=int, default=1, help="render worker threads (embedded; default 1)"
    )
    farm.add_argument(
        "--chunk-frames", type=int, default=None, help="frames per chunk (default: automatic)"
    )
    mode = farm.add_mutually_exclusive_group()
    mode.add_argument(
        "--distributed",
        action="store_true",
        help="submit to RabbitMQ + S3 instead of rendering here",
    )
    mode.add_argument(
        "--direct",
        action="store_true",
        help="no farm: one process renders and pipes raw frames into one ffmpeg (the baseline)",
    )
    farm.add_argument("--keep", action="store_true", help="keep frames and manifests in the store")
    farm.add_argument(
        "--no-cache",
        action="store_true",
        help="render and encode everything, and store nothing in the cache (by default frames, "
        "segments and the soundtrack of earlier exports with equal inputs are reused: a "
        "re-export of a lightly edited project renders only what changed; embedded, the cache "
        "lasts in FRAMEFARM_CACHE_DIR, default ~/.cache/framefarm; --direct never uses it)",
    )
    farm.add_argument("--quiet", action="store_true", help="no progress bar")
    render.set_defaults(handler=_render)


def _add_service_commands(commands: Commands) -> None:
    for role, text in (
        ("worker", "run a render worker on the distributed farm (until SIGTERM)"),
        (
            "stitcher",
            "run a stitcher on the distributed farm: soundtracks, segment encodes and the final "
            "join (until SIGTERM)",
        ),
        ("encoder", "run a segment encoder on the distributed farm (until SIGTERM)"),
    ):
        service = commands.add_parser(
            role,
            help=text,
            description=f"{text[0].upper()}{text[1:]}. Configured by FRAMEFARM_AMQP_URL, "
            "FRAMEFARM_S3_ENDPOINT, FRAMEFARM_S3_ACCESS_KEY, FRAMEFARM_S3_SECRET_KEY, "
            "FRAMEFARM_S3_BUCKET (see the README).",
        )
        service.add_argument("--threads", type=int, default=1, help="worker threads (default 1)")
        if role == "stitcher":
            service.add_argument(
                "--no-encode",
                action="store_true",
                help="leave segment encodes to `framefarm encoder` processes",
            )
        service.set_defaults(handler=_serve, role=role)

    coordinator = commands.add_parser(
        "coordinator",
        help="run the HTTP/WebSocket API and the export page",
        description="Serve the export API (POST /api/exports, WS /ws/exports/{id}, downloads, "
        "/openapi.json) and the export page at /. Uses the distributed farm configured by "
        "FRAMEFARM_* variables, or with --embedded renders in this process (local store). "
        "Callers send Authorization: Bearer <token> with a token of FRAMEFARM_API_TOKEN, "
        "FRAMEFARM_API_TOKENS or FRAMEFARM_API_TOKENS_FILE (each standing for a principal that "
        "sees only its own exports); with none configured the API is open to one user.",
    )
    coordinator.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"
    )
    coordinator.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    coordinator.add_argument(
        "--embedded", action="store_true", help="render in this process instead of on the farm"
    )
    coordinator.add_argument(
        "--workers", type=int, default=1, help="render threads with --embedded"
    )
    coordinator.set_defaults(handler=_coordinator)


SETTINGS_FLAGS = {
    "width": "--width",
    "height": "--height",
    "fps": "--fps",
    "startBeat": "--start-beat",
    "endBeat": "--end-beat",
    "format": "--format",
    "crf": "--crf",
    "preset": "--preset",
}
"""Export settings fields and the flags that set them, to name flags in error messages."""


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("export settings")
    group.add_argument(
        "--width", type=int, default=1280, help="frame width in pixels (default 1280)"
    )
    group.add_argument(
        "--height", type=int, default=720, help="frame height in pixels (default 720)"
    )
    group.add_argument(
        "--fps", default="60", help="frame rate: integer or N/D, e.g. 30000/1001 (default 60)"
    )
    group.add_argument(
        "--start-beat", type=float, default=0.0, help="first beat of the export (default 0)"
    )
    group.add_argument(
        "--end-beat", type=float, default=None, help="last beat (default: the song's end)"
    )


def _settings_from_flags(args: argparse.Namespace, **extra: object) -> dict[str, object]:
    from common.timing.framerate import FPS_DIGITS

    text = str(args.fps)
    whole = text.isascii() and text.isdigit() and len(text) <= FPS_DIGITS  # else checked as text
    fps: object = int(text) if whole else text
    settings: dict[str, object] = {
        "width": args.width,
        "height": args.height,
        "fps": fps,
        "startBeat": args.start_beat,
        **extra,
    }
    if args.end_beat is not None:
        settings["endBeat"] = args.end_beat
    return settings


def _load_export(args: argparse.Namespace, config: Config, **extra: object) -> Export:
    """Read the project file once and validate it with the flags, once; errors name the flags
    (and the project's fields by their path in the file)."""
    from common.format.validation import read_json_file, validate_export

    project = read_json_file(args.project, "project", config.limits)
    try:
        return validate_export(project, _settings_from_flags(args, **extra), config.limits)
    except InvalidInput as error:
        raise type(error)([_flag_issue(i) for i in error.issues], "options") from None


def _flag_issue(issue: Issue) -> Issue:
    """A settings issue named by its flag, in its path and in its message; a project issue by
    its path in the project file."""
    if issue.path == "project" or issue.path.startswith(("project.", "project[")):
        path = issue.path.removeprefix("project").removeprefix(".")
        return Issue(path, issue.message, issue.value)
    field = issue.path.removeprefix("settings.")
    if field not in SETTINGS_FLAGS:
        return issue
    message = issue.message
    for name, flag in SETTINGS_FLAGS.items():
        message = message.replace(f"before {name} ", f"before {flag} ")
    return Issue(SETTINGS_FLAGS[field], message, issue.value)


def _frame(args: argparse.Namespace, config: Config) -> int:
    from farm_worker.frames import render_frames_to_files

    export = _load_export(args, config)
    if not 0 <= args.frame < export.frame_count:
        problem = Issue("--frame", f"expected 0..{export.frame_count - 1}", args.frame)
        raise InvalidInput([problem], "options")
    render_frames_to_files(export, range(args.frame, args.frame + 1), single_file=args.output)
    print(args.output)
    return EXIT_OK


def _frames(args: argparse.Namespace, config: Config) -> int:
    from farm_worker.frames import render_frames_to_files

    export = _load_export(args, config)
    frames = _frame_range(args.range, export.frame_count)
    from framefarm.progress import ProgressBar

    bar = ProgressBar(len(frames), sys.stderr)
    try:
        written = render_frames_to_files(export, frames, directory=args.out, on_frame=bar.update)
    finally:
        bar.close()
    print(f"{written} frames in {args.out}")
    return EXIT_OK


def _frame_range(text: str | None, count: int) -> range:
    if text is None:
        return range(count)
    try:
        first_text, _, last_text = text.partition(":")
        first = int(first_text) if first_text else 0
        last = int(last_text) if last_text else count
    except ValueError:
        raise InvalidInput(
            [Issue("--range", "expected A:B with integers", text)], "options"
        ) from None
    if not 0 <= first < last <= count:
        problem = Issue(
            "--range", f"expected 0 <= A < B <= {count} (the export has {count} frames)", text
        )
        raise InvalidInput([problem], "options")
    return range(first, last)


def _validate(args: argparse.Namespace, config: Config) -> int:
    from common.format.validation import read_json_file, validate_export, validate_project

    project = read_json_file(args.project, "project", config.limits)
    if args.settings is None:
        validate_project(project, config.limits)
    else:
        try:
            settings = _settings_argument(args.settings, config)
            validate_export(project, settings, config.limits)
        except InvalidInput as error:
            issues = [_flag_issue(i) if i.path.startswith("project") else i for i in error.issues]
            raise type(error)(issues, error.what) from None
    print("ok")
    return EXIT_OK


def _scene(args: argparse.Namespace, config: Config) -> int:
    from common.format.validation import load_project_file
    from common.scene.visuals import SceneModel

    project = load_project_file(args.project, config.limits)
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


def _settings_argument(text: str, config: Config) -> object:
    """``--settings``: inline JSON (starting with '{') or the path of a JSON file."""
    from common.format.jsonread import loads
    from common.format.validation import read_json_file

    text = text.strip()
    if not text.startswith("{"):
        return read_json_file(text, "settings", config.limits)
    try:
        return loads(text, config.limits, "settings")
    except InvalidInput as error:
        problems = [Issue("--settings", i.message, i.value) for i in error.issues]
        raise InvalidInput(problems, "settings") from None


def _render(args: argparse.Namespace, config: Config) -> int:
    from pathlib import Path

    from coordinator.views import reuse_summary
    from framefarm.interrupt import handle_ctrl_c, private_tempdir
    from framefarm.outputs import output_problem
    from framefarm.progress import JobProgress, format_size
    from framefarm.render import render_video

    output = Path(args.output)
    problem = output_problem(output)
    if problem is not None:
        raise InvalidInput([problem], "options")
    fmt = args.format or (output.suffix.lstrip(".").lower() if output.suffix else "mp4")
    if fmt not in ("mp4", "webm", "mov", "gif"):
        raise InvalidInput([Issue("--format", "expected mp4, webm, mov or gif", fmt)], "options")
    for flag, value in (("--workers", args.workers), ("--chunk-frames", args.chunk_frames)):
        if value is not None and value < 1:
            raise InvalidInput([Issue(flag, "expected 1 or more", value)], "options")
    video = {"format": fmt, "crf": args.crf, "preset": args.preset, "audio": not args.no_audio}
    if args.no_cache:
        video["cache"] = False
    export = _load_export(args, config, **video)
    if args.direct:
        return _render_direct(export, output, quiet=args.quiet)
    bar = None if args.quiet else JobProgress(sys.stderr)
    with handle_ctrl_c() as stop, private_tempdir(stop):
        try:
            final = render_video(
                export,
                output,
                workers=args.workers,
                chunk_frames=args.chunk_frames,
                distributed=config.service if args.distributed else None,
                segment_seconds=config.service.segment_seconds,
                keep_intermediates=args.keep,
                on_state=None if bar is None else bar.update,
                cache_dir=None if args.distributed else embedded_cache_dir(config.service),
                cache_max_bytes=config.service.cache_max_bytes,
                cache_grace_seconds=config.service.cache_grace_seconds,
                stop=stop,
            )
        finally:
            if bar is not None:
                bar.close()
    seconds = final.duration_seconds or 0.0
    size = format_size(final.size_bytes or 0)
    reused = f", {reuse_summary(final)}" if final.cache else ""
    print(f"{output}: {final.frame_count} frames, {seconds:.2f} s, {size}{reused}")
    return EXIT_OK


def embedded_cache_dir(service: ServiceSettings) -> Path:
    """Where the embedded mode keeps its cache between runs: FRAMEFARM_CACHE_DIR, else the
    user's cache folder ($XDG_CACHE_HOME/framefarm, ~/.cache/framefarm): never the working
    directory, where `render` leaves nothing but the video."""
    import os
    from pathlib import Path

    if service.cache_dir:
        return Path(service.cache_dir)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "framefarm"


def _serve(args: argparse.Namespace, config: Config) -> int:
    from framefarm.service import serve

    if args.threads < 1:
        raise InvalidInput([Issue("--threads", "expected 1 or more", args.threads)], "options")
    encode = not getattr(args, "no_encode", False)
    serve(args.role, args.threads, config.service, encode=encode)
    return EXIT_OK


def _coordinator(args: argparse.Namespace, config: Config) -> int:
    from framefarm.service import serve_coordinator

    if args.workers < 1:
        raise InvalidInput([Issue("--workers", "expected 1 or more", args.workers)], "options")
    if not 0 < args.port < 65536:
        raise InvalidInput([Issue("--port", "expected 1..65535", args.port)], "options")
    serve_coordinator(args.host, args.port, config, embedded=args.embedded, workers=args.workers)
    return EXIT_OK


def _add_health_command(commands: Commands) -> None:
    health = commands.add_parser(
        "health",
        help="exit 0 if a farm process is alive: its heartbeat file is fresh, or a URL answers",
        description="For container probes. Without --url: check that the heartbeat file "
        "(--heartbeat-file, else FRAMEFARM_HEARTBEAT_FILE) that a worker, stitcher or encoder "
        "rewrites every 5 s is at most --max-age seconds old. With --url: check that it answers "
        "2xx (the coordinator's /healthz). Prints one line; exits 1 when unhealthy.",
    )
    health.add_argument("--heartbeat-file", metavar="PATH", help="the heartbeat file to read")
    health.add_argument(
        "--max-age", type=float, default=30.0, help="oldest healthy heartbeat, s (default 30)"
    )
    health.add_argument("--url", help="a URL that must answer 2xx instead (the coordinator)")
    health.add_argument(
        "--timeout", type=float, default=5.0, help="seconds to wait for --url (default 5)"
    )
    health.set_defaults(handler=_health)


def _health(args: argparse.Namespace, config: Config) -> int:
    from pathlib import Path

    from framefarm.health import heartbeat_problem, url_problem

    if args.url is not None:
        problem = url_problem(args.url, args.timeout)
    else:
        path = args.heartbeat_file or config.service.heartbeat_file
        if not path:
            issue = Issue("--heartbeat-file", "required (or FRAMEFARM_HEARTBEAT_FILE, or --url)")
            raise InvalidInput([issue], "options")
        problem = heartbeat_problem(Path(path), args.max_age)
    if problem is not None:
        print(f"framefarm: unhealthy: {problem}", file=sys.stderr)
        return EXIT_FAILURE
    print("ok")
    return EXIT_OK


def _add_audio_parser(commands: Commands) -> None:
    audio = commands.add_parser(
        "audio",
        help="render a project's soundtrack to a WAV file",
        description="Render the project's audio offline as tone 15.5 plays it in the app "
        "(compat.tone selects an older release; docs/rendering.md has the measured fidelity) "
        "to a 16-bit stereo WAV file, written block by block as it is rendered.",
    )
    audio.add_argument("project", metavar="PROJECT", help="project JSON file")
    audio.add_argument("-o", "--output", required=True, metavar="FILE.wav", help="WAV to write")
    audio.add_argument("--start-beat", type=float, default=0.0, help="first beat (default 0)")
    audio.add_argument("--end-beat", type=float, default=None, help="last beat (default: the end)")
    audio.add_argument(
        "--sample-rate", type=int, default=48000, help="samples per second (default 48000)"
    )
    audio.set_defaults(handler=_audio)


def _audio(args: argparse.Namespace, config: Config) -> int:
    from common.audio.render import soundtrack_blocks
    from common.audio.wav import write_wav_blocks
    from common.format.validation import load_project_file

    project = load_project_file(args.project, config.limits)
    end_beat = project.duration_beats if args.end_beat is None else args.end_beat
    problems: list[Issue] = []
    if not 8000 <= args.sample_rate <= 192000:
        problems.append(Issue("--sample-rate", "expected 8000..192000", args.sample_rate))
    if not 0 < end_beat <= project.duration_beats:
        message = f"expected a beat > 0, at most durationBeats ({project.duration_beats:g})"
        problems.append(Issue("--end-beat", message, end_beat))
    elif not 0 <= args.start_beat < end_beat:
        message = f"expected a beat >= 0 before the end ({end_beat:g})"
        problems.append(Issue("--start-beat", message, args.start_beat))
    if problems:
        raise InvalidInput(problems, "options")
    tempo = project.tempo_map
    start = float(tempo.beat_to_time(Fraction(args.start_beat)))
    end = float(tempo.beat_to_time(Fraction(end_beat)))
    limit = config.limits.max_duration_seconds
    if end - start > limit:
        message = f"the audio lasts {end - start:.1f} s, over {limit:g} s (max_duration_seconds)"
        raise InvalidInput([Issue("--end-beat", message, end_beat)], "options")
    blocks = soundtrack_blocks(project, start, end, args.sample_rate)
    try:
        written = write_wav_blocks(args.output, blocks, args.sample_rate)
    except OSError as error:
        raise FramefarmError(f"cannot write {args.output}: {error.strerror}") from None
    print(f"{args.output}: {written / args.sample_rate:.2f} s, {args.sample_rate} Hz, stereo")
    return EXIT_OK


def _render_direct(export: Export, output: Path, *, quiet: bool) -> int:
    from framefarm.direct import render_direct
    from framefarm.interrupt import handle_ctrl_c, private_tempdir
    from framefarm.progress import ProgressBar, format_size

    bar = None if quiet else ProgressBar(export.frame_count, sys.stderr)
    with handle_ctrl_c() as stop, private_tempdir(stop):

        def on_frame(done: int) -> None:
            stop.check()  # raising here kills ffmpeg and removes the scratch folder
            if bar is not None:
                bar.update(done)

        try:
            result = render_direct(export, output, on_frame=on_frame, stop=stop)
        finally:
            if bar is not None:
                bar.close()
    seconds, size = result.duration_seconds, format_size(result.size_bytes)
    print(f"{output}: {result.frame_count} frames, {seconds:.2f} s, {size}")
    return EXIT_OK
