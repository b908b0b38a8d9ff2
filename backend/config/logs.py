"""Log lines as JSON, and the request id that ties a request's lines together.

``LOG_FORMAT=json`` (set by start.sh and the Docker image) makes every log
line one JSON object::

    {"time": "2025-01-31T12:00:00.123Z", "level": "INFO", "logger": "payouts.services",
     "message": "...", "request_id": "9f0c...", "exc_info": "Traceback ..."}

``request_id`` comes from ``request_id_var``: the API sets it per request
(``api.request_id``) and a worker task can set it with
``bind_request_id`` so the lines of a payout's tasks carry the id of the
request that created it. Values given with ``extra={...}`` are added as fields.

This module must not import Django: gunicorn's configuration imports it
before Django is set up.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


@contextmanager
def bind_request_id(request_id: str | None) -> Iterator[None]:
    """Set the request id for the lines logged inside the block, then restore the previous one."""
    token = request_id_var.set(request_id)
    try:
        yield
    finally:
        request_id_var.reset(token)


# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

# gunicorn's access log passes its atoms as the record's args: field -> atom.
_ACCESS_FIELDS = {
    "remote_addr": "h",
    "method": "m",
    "path": "U",
    "status": "s",
    "bytes": "B",
    "duration_ms": "M",
    "user_agent": "a",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request_id, exc_info."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            # Django logs a 4xx/5xx after the middleware has returned; its record carries the request.
            "request_id": request_id_var.get() or getattr(getattr(record, "request", None), "request_id", None),
        }
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            entry.update(_access_fields(record.args))
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


def _access_fields(atoms: Mapping) -> dict[str, object]:
    fields: dict[str, object] = {}
    for field, atom in _ACCESS_FIELDS.items():
        value = atoms.get(atom)
        if value in (None, "-"):
            continue
        fields[field] = int(value) if field in {"status", "bytes", "duration_ms"} and str(value).isdigit() else value
    request_id = atoms.get("{x-request-id}o")
    if request_id and request_id != "-":
        fields["request_id"] = request_id
    return fields
