"""Structured logging for every l2kit process (structlog), configured once by the CLI.

``L2KIT_LOG_LEVEL`` (debug, info, warning, error; default info) and ``L2KIT_LOG_JSON=1``
(one JSON object per line, for log shippers) choose the level and the format. Lines go to
stderr so that command output on stdout stays clean.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog

from offchain.errors import ConfigError

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}  # fmt: skip


def configure_logging(level: str | None = None, json_lines: bool | None = None) -> None:
    """Configure structlog for this process.

    Args:
        level: minimum level (default ``$L2KIT_LOG_LEVEL`` or ``info``).
        json_lines: JSON output (default ``$L2KIT_LOG_JSON``), else a readable console format.

    Raises:
        ConfigError: unknown level.
    """
    name = (level or os.environ.get("L2KIT_LOG_LEVEL") or "info").lower()
    if name not in _LEVELS:
        raise ConfigError(f"unknown log level {name!r}", f"use one of {', '.join(_LEVELS)}")
    if json_lines is None:
        json_lines = os.environ.get("L2KIT_LOG_JSON", "") not in ("", "0", "false")
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[name]),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
