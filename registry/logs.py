"""Structured, quiet-by-default logging: one JSON object per line on stderr."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime


class JSONFormatter(logging.Formatter):
    """Render records as JSON; messages are built by our code and carry no secrets."""

    def format(self, record: logging.LogRecord) -> str:
        """One line per record."""
        document = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """Install the JSON handler on the `registry` logger once."""
    # Libraries stay quiet unless something is wrong.
    for noisy in ("apscheduler", "alembic", "uvicorn.error", "litestar", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    logger = logging.getLogger("registry")
    if any(isinstance(h.formatter, JSONFormatter) for h in logger.handlers):
        logger.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
