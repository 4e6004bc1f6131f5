"""Logging: console lines or one JSON object a line, each carrying the delivery's context."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from typing import Any

from app.intake.delivery import Delivery

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI copy of the message
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_extra(record))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(f"{key}={value}" for key, value in _extra(record).items())
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {record.getMessage()}"
        line = f"{line}  {context}" if context else line
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _STANDARD and not key.startswith("_") and value is not None
    }


def configure(level: str, log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO; our own GitHub metrics and logs cover that.
    logging.getLogger("httpx").setLevel(logging.WARNING)


class ContextLogger(logging.LoggerAdapter[logging.Logger]):
    """Adds fixed context fields to every record, keeping per-call `extra` too."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        context: Mapping[str, object] = self.extra or {}
        kwargs["extra"] = {**context, **kwargs.get("extra", {})}
        return msg, kwargs


def for_delivery(logger: logging.Logger, delivery: Delivery) -> ContextLogger:
    return ContextLogger(
        logger,
        {
            "delivery": delivery.id,
            "event": delivery.label,
            "installation": delivery.installation_id,
            "repository": delivery.repository,
            "pr": delivery.pr_number,
        },
    )
