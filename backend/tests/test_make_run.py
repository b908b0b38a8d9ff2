"""`make run` for real: however it is stopped, nothing it started keeps running.

Each test starts `make run` as a user would (make, scripts/run.sh, gunicorn
and its workers, run_huey, vite), in a session of its own, on free ports, with
a queue of its own, against a scratch database on the test PostgreSQL server
and the test Redis (so it neither starts nor stops embedded servers). Every
process of it carries RUN_MARKER=<uuid> in its environment, which is how the
test finds them in /proc. It waits until the API answers /api/v1/health and
the dashboard answers, stops it one way, and counts the processes left: none,
within 5 seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import secrets
import select
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from conftest import _OWNER
from stack import free_port, http_status, postgres_url, scratch_database, scratch_queue

REPO = Path(__file__).resolve().parents[2]
LEFT_WITHIN_SECONDS = 5

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds processes through /proc"),
    pytest.mark.skipif(shutil.which("make") is None, reason="needs make"),
    pytest.mark.skipif(
        not (REPO / "frontend/node_modules/.bin/vite").exists(), reason="needs frontend/node_modules (make node)"
    ),
]


# --- the scratch database, the queue, the ports ------------------------------------------


@pytest.fixture(scope="module")
def database_url(django_db_setup):
    """A scratch database, as the test server's owner (a superuser): make run
    migrates with it and runs the API and the worker as `<name>_app`, as in development.
    Dropped at the end with that role."""
    db = settings.DATABASES["default"]
    server = postgres_url(
        user=_OWNER["USER"], password=_OWNER["PASSWORD"], host=db["HOST"], port=db["PORT"], database="postgres"
    )
    with scratch_database(server, f"make_run_{uuid.uuid4().hex[:12]}") as url:
        yield url


@pytest.fixture(scope="module")
def huey_name():
    with scratch_queue(settings.REDIS_URL, "makerun") as name:
        yield name


@pytest.fixture
def make_run(database_url, huey_name, tmp_path):
    """Starts `make run`; afterwards SIGKILLs whatever a failed test left."""
    started: list[MakeRun] = []
    pid_dir = tmp_path / "run"  # RUN_PID_DIR: shared by the runs of one test, never the checkout's

    def start(*, ports: tuple[int, int] | None = None, terminal: bool = False, wait: bool = True) -> MakeRun:
        api_port, web_port = ports or (free_port(), free_port())
        env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DEMO_MODE", "PYTEST_CURRENT_TEST"}}
        env.update(
            RUN_MARKER=uuid.uuid4().hex,
            DATABASE_URL=database_url,
            REDIS_URL=settings.REDIS_URL,
            API_PORT=str(api_port),
            WEB_PORT=str(web_port),
            HUEY_NAME=huey_name,
            RUN_PID_DIR=str(pid_dir),
            # Its own metrics directory: make run empties the one it is given.
            PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
            SECRET_KEY=secrets.token_urlsafe(50),
            BANK_ACCOUNT_ENCRYPTION_KEY=",".join(settings.BANK_ACCOUNT_ENCRYPTION_KEYS),
            WEB_CONCURRENCY="2",
            BANK_SIMULATOR_OUTCOME="success",
        )
        run = MakeRun(env, tmp_path / f"make-run-{len(started) + 1}.log", terminal=terminal)
        started.append(run)
        if wait:
            run.wait_until_serving()
        return run

    yield start
    for run in started:
        run.kill_everything()


class MakeRun:
    # The stamps are up to date under `make test`; -o keeps make from rebuilding
    # the virtualenv it runs in, should they not be.
    COMMAND = ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", "frontend/node_modules/.installed"]
    COMMAND += ["run"]

    def __init__(self, env: dict[str, str], log_path: Path, *, terminal: bool) -> None:
        self.env, self.log_path, self.marker = env, log_path, env["RUN_MARKER"]
        self.api_port, self.web_port = int(env["API_PORT"]), int(env["WEB_PORT"])
        self.master: int | None = None
        self.reader: threading.Thread | None = None
        self.reading = threading.Event()
        if terminal:
            # As in a terminal: make is the session leader and the pty its controlling terminal.
            pid, master = pty.fork()
            if pid == 0:  # the child
                try:
                    os.chdir(REPO)
                    os.execvpe(self.COMMAND[0], self.COMMAND, env)  # noqa: S606
                finally:
                    os._exit(127)
            self.pid, self.master = pid, master
            self.reading.set()
            self.reader = threading.Thread(target=self._copy_terminal, daemon=True)
            self.reader.start()
        else:
            with open(log_path, "wb") as log:
                self.process = subprocess.Popen(
                    self.COMMAND, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            self.pid = self.process.pid
        self.started: set[int] = set()

    def _copy_terminal(self) -> None:
        assert self.master is not None
        with open(self.log_path, "ab") as log:
            while self.reading.is_set():
                ready, _, _ = select.select([self.master], [], [], 0.1)
                if ready:
                    try:
                        data = os.read(self.master, 65536)
                    except OSError:
                        return
                    if not data:
                        return
                    log.write(data)
                    log.flush()

    # --- what runs ---

    def marked(self) -> set[int]:
        """The live processes that carry this run's marker (a zombie's environment reads empty)."""
        needle = f"RUN_MARKER={self.marker}".encode()
        found = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if needle in (entry / "environ").read_bytes().split(b"\0"):
                        found.add(int(entry.name))
        return found

    def describe(self, pids: set[int]) -> str:
        lines = []
        for pid in sorted(pids):
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                lines.append(f"  {pid}: {cmdline[:160]}")
        return "\n".join(lines)

    def commands(self) -> list[str]:
        return self.describe(self.marked()).splitlines()

    def exited(self) -> bool:
        if self.master is None:
            return self.process.poll() is not None
        with contextlib.suppress(ChildProcessError):
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            return pid == self.pid
        return True

    def reap(self) -> None:
        if self.master is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=1)
        else:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, os.WNOHANG)

    def wait_until_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert not self.exited(), f"make run exited\n{self.log()}"
            if (
                self.recorded_here("api", "worker", "web", "watchdog")
                and http_status(self.api_port, "/api/v1/health") == 200
                and http_status(self.web_port, "/") == 200
            ):
                self.started = self.marked()
                return
            time.sleep(0.2)
        pytest.fail(f"make run did not serve within {timeout}s\n{self.log()}")

    def wait_until_settled(self, timeout: float = 30) -> None:
        """Until run.sh has printed its banner and the same processes ran for a second:
        nothing is still starting (vite's esbuild, run.sh's pause) when the test acts."""
        deadline = time.monotonic() + timeout
        before: set[int] = set()
        while time.monotonic() < deadline:
            now = self.marked()
            if "Ctrl-C stops everything." in self.log(whole=True) and now == before:
                return
            before = now
            time.sleep(1)
        pytest.fail(f"make run did not settle within {timeout}s\n{self.describe(self.marked())}\n{self.log()}")

    @staticmethod
    def wait_until_stopped(pids: set[int], timeout: float = 15) -> None:
        """Until each of ``pids`` is in the stopped state (T in /proc/<pid>/stat)."""

        def state(pid: int) -> str:
            with contextlib.suppress(OSError):
                return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            return "gone"

        deadline = time.monotonic() + timeout
        running = set(pids)
        while running and time.monotonic() < deadline:
            running = {pid for pid in running if state(pid) not in ("T", "t", "gone")}
            if running:
                time.sleep(0.05)
        assert not running, f"not stopped {timeout}s after SIGSTOP: {sorted(running)}"

    def recorded_here(self, *names: str) -> bool:
        """Whether each pid file names a process of this run (not of a previous one)."""
        mine = self.marked()
        for name in names:
            try:
                if self.recorded(name) not in mine:
                    return False
            except (OSError, ValueError):
                return False
        return True

    def recorded(self, name: str) -> int:
        return json.loads((Path(self.env["RUN_PID_DIR"]) / f"{name}.pid").read_text())["pid"]

    def assert_nothing_left(self, since: float) -> None:
        left = self.marked()
        while left and time.monotonic() < since + LEFT_WITHIN_SECONDS:
            time.sleep(0.05)
            left = self.marked()
        self.reap()
        assert not left, (
            f"{len(left)} of {len(self.started)} processes left {LEFT_WITHIN_SECONDS}s later:\n"
            f"{self.describe(left)}\n--- log\n{self.log()}"
        )

    # --- stopping ---

    def signal_group(self, signum: int) -> float:
        os.killpg(self.pid, signum)  # make leads its own process group (its own session)
        return time.monotonic()

    def close_terminal(self) -> float:
        assert self.master is not None and self.reader is not None
        self.reading.clear()
        self.reader.join()
        os.close(self.master)
        self.master = -1
        return time.monotonic()

    def kill_everything(self) -> None:
        for pid in self.marked():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if self.master not in (None, -1):
            self.reading.clear()
            if self.reader:
                self.reader.join()
            with contextlib.suppress(OSError):
                os.close(self.master)
        self.reap()

    def log(self, *, whole: bool = False) -> str:
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace")
            return text if whole else text[-5000:]
        return ""


# --- the tests ---------------------------------------------------------------------------


def _processes_of_every_kind(run: MakeRun) -> None:
    commands = "\n".join(run.commands())
    for expected in ("make", "scripts/run.sh", "gunicorn", "run_huey", "vite", "run_guard.py watch"):
        assert expected in commands, f"no {expected} among the processes of make run:\n{commands}"
    assert len(run.started) >= 8, commands  # make, run.sh, watchdog, gunicorn + 2 workers, run_huey, node (+ esbuild)


@pytest.mark.parametrize(
    "signum",
    [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
    # SIGHUP to the group: a terminal closing under an interactive shell, which hangs up its jobs.
    ids=["ctrl-c", "sigterm", "sighup"],
)
def test_a_signal_to_the_group_stops_everything(make_run, signum):
    run = make_run()
    _processes_of_every_kind(run)

    sent = run.signal_group(signum)

    run.assert_nothing_left(since=sent)
    assert "stopping..." in run.log(whole=True), run.log()


def test_closing_the_terminal_stops_everything(make_run):
    run = make_run(terminal=True)
    _processes_of_every_kind(run)

    closed = run.close_terminal()

    run.assert_nothing_left(since=closed)


def test_sigkill_to_the_group_leaves_nothing_and_the_next_run_starts_cleanly(make_run):
    first = make_run()
    ports = (first.api_port, first.web_port)
    recorded_api = first.recorded("api")

    killed = first.signal_group(signal.SIGKILL)
    first.assert_nothing_left(since=killed)

    # The same ports and pid files: the next run finds nothing of the first one running.
    second = make_run(ports=ports)
    assert second.recorded("api") != recorded_api
    assert "a previous make run left" not in second.log(whole=True), second.log()
    sent = second.signal_group(signal.SIGINT)
    second.assert_nothing_left(since=sent)


def test_a_new_run_stops_what_a_previous_run_left(make_run):
    """A run whose own guards could not act (frozen, then make, run.sh and the
    watchdog killed): the next `make run` finds its processes through the pid
    files, stops them and takes their ports."""
    first = make_run()
    ports = (first.api_port, first.web_port)
    first.wait_until_settled()
    # The watchdog dies first: one that saw run.sh die before its own SIGKILL
    # would rightly begin to stop (and SIGCONT) the frozen processes.
    supervisors = [first.recorded("watchdog"), first.recorded("run"), first.pid]
    frozen = first.marked() - set(supervisors)
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    # A busy machine may not have run a process since its SIGSTOP: until it has
    # stopped, the SIGTERM that run.sh's death sends it (a lower signal number)
    # would be taken first and end it.
    first.wait_until_stopped(frozen)
    for pid in supervisors:
        os.kill(pid, signal.SIGKILL)
    first.reap()
    time.sleep(0.5)
    left = first.marked()
    assert left == frozen and first.recorded("worker") in left, f"{first.describe(left)}\n--- log\n{first.log()}"

    second = make_run(ports=ports)  # gunicorn and vite would find their ports taken

    assert not first.marked(), f"left by the first run:\n{first.describe(first.marked())}"
    assert re.search(r"a previous make run left [^\n]*\bapi \(pid", second.log(whole=True)), second.log()
    sent = second.signal_group(signal.SIGTERM)
    second.assert_nothing_left(since=sent)


def test_a_new_run_stops_a_run_still_running_from_the_same_checkout(make_run):
    first = make_run()
    ports = (first.api_port, first.web_port)

    second = make_run(ports=ports)

    # (The leaders are named in pid order, which wraps around: run.sh need not come first.)
    assert re.search(r"a previous make run left [^\n]*\brun \(pid", second.log(whole=True)), second.log()
    assert not first.marked(), f"left by the first run:\n{first.describe(first.marked())}"
    assert "stopping..." in first.log(whole=True), first.log()  # the first one stopped as on Ctrl-C
    sent = second.signal_group(signal.SIGINT)
    second.assert_nothing_left(since=sent)
