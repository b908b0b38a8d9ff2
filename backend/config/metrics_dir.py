"""Where the processes of one host keep their metrics (prometheus_client's multiprocess mode).

Every gunicorn worker and every ``run_huey`` process writes its counters to
memory-mapped files in ``PROMETHEUS_MULTIPROC_DIR``; ``/api/v1/metrics`` adds
up the files of every process that shares the directory. The variable must be
set before ``prometheus_client`` is imported, so settings (and gunicorn's
config, for its ``child_exit`` hook) call ``metrics_dir_ensure`` first.

Unset, it is ``EMBEDDED_DATA_DIR/metrics`` (``.data/metrics`` in a checkout),
or, where that cannot be written (the image's read-only code directory), a
directory under the system's temporary directory named for the user. The
directory outlives the processes: start.sh and ``make run`` empty it before
starting theirs (``python config/metrics_dir.py clear``).

This module must not import Django or prometheus_client.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def _default() -> Path:
    repo_root = Path(__file__).resolve().parent.parent.parent
    data_dir = Path(os.environ.get("EMBEDDED_DATA_DIR", "").strip() or repo_root / ".data")
    path = data_dir / "metrics"
    try:
        path.mkdir(parents=True, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    return Path(tempfile.gettempdir()) / f"payouts-metrics-{os.getuid()}"


def metrics_dir_ensure() -> Path:
    """Set PROMETHEUS_MULTIPROC_DIR (if unset) for this process and its children, and create it."""
    configured = os.environ.get(VARIABLE, "").strip()
    path = Path(configured) if configured else _default()
    path.mkdir(parents=True, exist_ok=True)
    os.environ[VARIABLE] = str(path)
    return path


def metrics_dir_clear() -> Path:
    """Remove the files of processes gone: call it before any process of this host starts."""
    path = metrics_dir_ensure()
    for child in path.glob("*.db"):
        child.unlink(missing_ok=True)
    return path


if __name__ == "__main__":  # python config/metrics_dir.py clear|path
    command = sys.argv[1] if len(sys.argv) > 1 else "path"
    if command not in ("clear", "path"):
        sys.exit("usage: metrics_dir.py clear|path")
    print(metrics_dir_clear() if command == "clear" else metrics_dir_ensure())
