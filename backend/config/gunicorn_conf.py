"""gunicorn settings used by start.sh (bind and workers come from its command line).

Access and error lines use the application's format: with ``LOG_FORMAT=json``
each is one JSON object (see config/logs.py), an access line carrying the
method, path, status, duration and the request id of the response.
"""

import os
import sys
from pathlib import Path

BACKEND_DIR = Path(__file__).resolve().parent.parent
if str(BACKEND_DIR) not in sys.path:
    sys.path.insert(0, str(BACKEND_DIR))  # for config.logs, named below

from config.metrics_dir import metrics_dir_ensure  # noqa: E402

# Before the workers import prometheus_client; the same directory as the worker's (config/metrics_dir.py).
metrics_dir_ensure()


def child_exit(server, worker):
    """A worker is gone: drop its live-only gauges (its counters stay, as Prometheus expects)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# gunicorn 23+ opens a control socket under ~/.gunicorn; two servers on one host
# (or a home the container user cannot write) would trip over it.
control_socket_disable = True

_level = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
loglevel = _level.lower()

if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    access_log_format = "%(m)s %(U)s %(s)s %(M)sms"
    _console = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "config.logs.JsonFormatter"}},
        "handlers": {"console": _console},
        "root": {"level": _level, "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": _level, "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }
else:
    accesslog = "-"
    access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" %({x-request-id}o)s'
