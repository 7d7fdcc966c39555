"""Log lines: one JSON object each for machines (the services, and any stderr that is not a
terminal), or a plain `warning: …` line for a person at a terminal.

JSON keeps logs machine-readable with fields that never blur; the admin commands choose with
`--log-format` (auto: plain text at a terminal, JSON otherwise).
"""

import json
import logging
import sys
from typing import Any, Literal

LogFormat = Literal["auto", "text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("auto", "text", "json")

# Attributes every LogRecord has; anything else came from `extra=` and is a structured field.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "color_message"}
)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRIBUTES}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update(_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`warning: the message (field=value …)`, the way the commands print their own errors."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{key}={value}" for key, value in _fields(record).items())
        line = f"{record.levelname.lower()}: {record.getMessage()}"
        if fields:
            line += f" ({fields})"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to `sys.stderr` as it is when a record comes, not as it was when logging was
    configured: a test (pytest's capsys) may have replaced and closed the one it first saw."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: str = "INFO", log_format: LogFormat = "json") -> None:
    """Logs at `level` and above to stderr; `auto` is text when stderr is a terminal."""
    text = log_format == "text" or (log_format == "auto" and sys.stderr.isatty())
    handler = _StderrHandler()
    handler.setFormatter(TextFormatter() if text else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
