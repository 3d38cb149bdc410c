"""Logging for `rekam serve`: one JSON object per request on stdout, every other line on
stderr, and nothing a client sent ever reaching a terminal or a log file raw."""

import json
import logging
from types import TracebackType
from typing import Any

_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _escaped(char: str) -> str:
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape(text: str) -> str:
    """Every non-printable character written as its Python escape (ESC as \\x1b, a newline as
    \\n): a log record stays one line, and a terminal never acts on what a client sent."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escaped(char) for char in text)


def _escape_lines(text: str) -> str:
    return "\n".join(escape(line) for line in text.split("\n"))


class EscapingFormatter(logging.Formatter):
    """A text line with its message escaped; a traceback keeps its own line breaks."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape(super().formatMessage(record))

    def formatException(
        self,
        ei: tuple[type[BaseException], BaseException, TracebackType | None]
        | tuple[None, None, None],
    ) -> str:
        return _escape_lines(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _escape_lines(super().formatStack(stack_info))


class JsonLineFormatter(logging.Formatter):
    """The message alone, which is a JSON document. json.dumps has escaped it already; anything
    else that lands here is escaped before it is written."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if message.isprintable():
            return message
        try:
            return json.dumps(json.loads(message))
        except ValueError:
            return escape(message)


def log_config(level: str = "INFO") -> dict[str, Any]:
    """The logging.config.dictConfig that `rekam serve` hands uvicorn, which applies it in
    every worker process too."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "text": {"()": "app.logs.EscapingFormatter", "fmt": TEXT_FORMAT},
            "json": {"()": "app.logs.JsonLineFormatter"},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "text",
                "stream": "ext://sys.stderr",
            },
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "rekam": {"handlers": ["stderr"], "level": level, "propagate": False},
            "rekam.access": {"handlers": ["stdout"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            # Rekam writes its own request line; uvicorn's would repeat it without the token id.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
        # Libraries' warnings and errors (asyncio, SQLAlchemy, ...) go through the same escaping.
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }
