"""Log set-up for every command: text lines, or one JSON object a line (``--log-format json``)
with the job id, chunk and stage of the message being handled on every line."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import dramatiq

from common import logcontext

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, job_id, chunk, stage (null when the
    line is about no job), and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        context = logcontext.current()
        line: dict[str, Any] = {
            "time": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "job_id": context.job_id,
            "chunk": context.chunk,
            "stage": context.stage,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Send every logger's lines to stderr in ``log_format`` (``text`` or ``json``)."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    logging.basicConfig(level=level, handlers=[handler], force=True)


class MessageLogContext(dramatiq.Middleware):
    """Each actor's lines name the job, chunk (or segment) and stage of the message in hand."""

    def __init__(self) -> None:
        self._tokens: dict[str, object] = {}

    def before_process_message(
        self, broker: dramatiq.Broker, message: dramatiq.MessageProxy
    ) -> None:
        payload = message.args[0] if message.args else None
        fields = payload if isinstance(payload, dict) else {}
        job_id = fields.get("job_id")
        chunk = fields.get("chunk_index", fields.get("segment_index"))
        context = logcontext.LogContext(
            job_id if isinstance(job_id, str) else None,
            chunk if isinstance(chunk, int) else None,
            message.actor_name,
        )
        self._tokens[message.message_id] = logcontext.enter(context)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        token = self._tokens.pop(message.message_id, None)
        if token is not None:
            logcontext.leave(token)

    after_skip_message = after_process_message
