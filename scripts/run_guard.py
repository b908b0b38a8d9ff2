"""Keeps `make run` from leaving processes behind, however it is stopped.

scripts/run.sh uses it three ways, with a folder of pid files (RUN_PID_DIR,
default .data/run):

run_guard.py launch DIR NAME PARENT -- COMMAND...
    Records this process as NAME in DIR/NAME.pid, then becomes COMMAND (exec:
    same pid). On Linux it first asks the kernel for SIGTERM when PARENT (the
    run.sh that starts it) dies, even by SIGKILL (prctl PR_SET_PDEATHSIG).

run_guard.py watch DIR PARENT
    The watchdog, for every system: records PARENT as `run` and itself as
    `watchdog`, then polls. When PARENT is gone, it stops everything recorded
    in DIR and exits. When the terminal it was started from hangs up (closed
    while make, not a shell, holds it), it sends PARENT a SIGHUP. It ignores
    SIGINT, SIGTERM and SIGHUP: it ends by itself once PARENT has exited.

run_guard.py stop DIR [--except NAME ...] [--grace SECONDS] [--previous]
    Stops every process recorded in DIR that is still the one recorded (same
    pid and start time), and every process it started: SIGTERM to the
    recorded ones and to orphans, SIGCONT to all (should any be stopped),
    then SIGKILL to whatever is left after the grace period (3 s). On Linux
    "every process it started" also covers orphans: any process in the run's
    session whose environment carries the run's PAYOUTS_RUN_ID. Never stops
    itself or its own ancestors, so run.sh may call it to stop its children,
    and a new run.sh to stop whatever a previous run left (--previous: says
    so; without it, it ignores Ctrl-C, so that a second one cannot cut a
    stop short).

Each pid file is one JSON object: {"pid", "start", "sid", "run_id", "name"}.
Standard library only: it runs before and after anything else is installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PROC = Path("/proc")
POLL_SECONDS = 0.05


# --- processes -----------------------------------------------------------------------


class Proc:
    __slots__ = ("pid", "ppid", "sid", "start", "zombie")

    def __init__(self, pid: int, ppid: int, sid: int, start: str, zombie: bool) -> None:
        self.pid, self.ppid, self.sid, self.start, self.zombie = pid, ppid, sid, start, zombie


def _linux_proc(pid: int) -> Proc | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    # state ppid pgrp session ... starttime is the 22nd field of the whole line.
    return Proc(pid, int(fields[1]), int(fields[3]), fields[19], fields[0] in ("Z", "X"))


def processes() -> dict[int, Proc]:
    """Every process on the machine: pid, parent, session, start time, zombie or not."""
    table: dict[int, Proc] = {}
    if PROC.is_dir():
        for entry in PROC.iterdir():
            if entry.name.isdigit():
                proc = _linux_proc(int(entry.name))
                if proc:
                    table[proc.pid] = proc
        return table
    # macOS and the BSDs: one ps call (lstart last: it holds spaces). No session:
    # only Linux finds orphans by their environment, which needs it.
    out = subprocess.run(
        ["ps", "-A", "-o", "pid=,ppid=,stat=,lstart="], capture_output=True, text=True, check=False
    ).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0].isdigit() and parts[1].isdigit():
            pid = int(parts[0])
            table[pid] = Proc(pid, int(parts[1]), 0, " ".join(parts[3:]), parts[2].startswith("Z"))
    return table


def describe(pid: int) -> Proc | None:
    if PROC.is_dir():
        return _linux_proc(pid)
    return processes().get(pid)


def carries(pid: int, marker: bytes) -> bool:
    """Whether the process's environment holds `marker` (Linux; False elsewhere)."""
    try:
        return marker in (PROC / str(pid) / "environ").read_bytes().split(b"\0")
    except OSError:
        return False


def ancestors(table: dict[int, Proc], pid: int) -> set[int]:
    found = set()
    while pid in table and pid not in found and pid > 1:
        found.add(pid)
        pid = table[pid].ppid
    return found


def descendants(table: dict[int, Proc], roots: set[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    found, todo = set(roots), list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def signal_all(pids: set[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)


# --- pid files -----------------------------------------------------------------------


def record(directory: Path, name: str, pid: int, run_id: str) -> None:
    proc = describe(pid)
    if proc is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    entry = {"name": name, "pid": pid, "start": proc.start, "sid": proc.sid, "run_id": run_id}
    temporary = directory / f".{name}.pid.{os.getpid()}"
    temporary.write_text(json.dumps(entry) + "\n")
    temporary.replace(directory / f"{name}.pid")


def recorded(directory: Path) -> list[tuple[Path, dict]]:
    entries = []
    for path in sorted(directory.glob("*.pid")):
        with contextlib.suppress(OSError, ValueError):
            entries.append((path, json.loads(path.read_text())))
    return entries


# --- stop ----------------------------------------------------------------------------


def say(message: str) -> None:
    """A line on stderr, unless stderr is gone (a closed terminal, a broken pipe)."""
    with contextlib.suppress(OSError):
        print(f"run_guard: {message}", file=sys.stderr, flush=True)


def stop(directory: Path, *, keep: set[str], grace: float, quiet: bool = False, previous: bool = False) -> int:
    """Stop what DIR records (but `keep`), and all they started. Returns how many were running."""
    table = processes()
    spared = ancestors(table, os.getpid())
    every = recorded(directory)
    entries = [(path, entry) for path, entry in every if entry.get("name") not in keep]

    def current(entry: dict, table: dict[int, Proc]) -> int | None:
        proc = table.get(entry.get("pid", -1))
        if proc and not proc.zombie and proc.start == entry.get("start"):
            return proc.pid
        return None

    leaders: dict[int, str] = {}  # the recorded processes that are still the ones recorded
    sessions, markers = set(), set()
    for _, entry in entries:
        pid = current(entry, table)
        if pid and pid not in spared:
            leaders[pid] = str(entry.get("name"))
        if entry.get("sid"):
            sessions.add(entry["sid"])
        if entry.get("run_id"):
            markers.add(f"PAYOUTS_RUN_ID={entry['run_id']}".encode())
    kept = {pid for _, entry in every if entry.get("name") in keep and (pid := current(entry, table))}

    def members() -> tuple[set[int], dict[int, Proc]]:
        """Every live process of the run: the leaders, their descendants, and marked orphans."""
        now = processes()
        found = descendants(now, {pid for pid in leaders if pid in now})
        if markers:
            for proc in now.values():
                if proc.sid in sessions and any(carries(proc.pid, marker) for marker in markers):
                    found.add(proc.pid)
        found -= spared | {os.getpid()} | descendants(now, kept)
        return {pid for pid in found if pid in now and not now[pid].zombie}, now

    running, now = members()
    if running and not quiet:
        parts = [f"{name} (pid {pid})" for pid, name in sorted(leaders.items()) if pid in running]
        others = len(running - set(leaders))
        if others:
            parts.append(f"{others} more process{'es' if others != 1 else ''}")
        if previous:
            say(f"a previous make run left {', '.join(parts)} running; stopping them")
        else:
            say(f"stopping {', '.join(parts)}")

    # SIGTERM to the leaders, each of which stops what it started (as on Ctrl-C),
    # and to any process of the run whose parent is not of the run (an orphan);
    # SIGCONT to all, should any be stopped; SIGKILL to whatever is left after
    # the grace period.
    terminated: set[int] = set()
    continued: set[int] = set()
    deadline = time.monotonic() + grace
    while running and time.monotonic() < deadline:
        roots = {pid for pid in running if pid in leaders or now[pid].ppid not in running} - terminated
        signal_all(roots, signal.SIGTERM)
        signal_all(running - continued, signal.SIGCONT)
        terminated |= roots
        continued |= running
        time.sleep(POLL_SECONDS)
        running, now = members()
    if running:
        if not quiet:
            say(f"still running {grace:g}s later, killing pids {' '.join(map(str, sorted(running)))}")
        for _ in range(40):
            signal_all(running, signal.SIGKILL)
            time.sleep(POLL_SECONDS)
            running, now = members()
            if not running:
                break
    for path, _ in entries:
        path.unlink(missing_ok=True)
    return len(leaders)


# --- commands ------------------------------------------------------------------------


def launch(directory: Path, name: str, parent: int, command: list[str]) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0) != 0:
            say(f"prctl failed: {os.strerror(ctypes.get_errno())}")
    if os.getppid() != parent:  # the parent died before it could be watched
        sys.exit(f"run_guard: {name}: the process that started it (pid {parent}) is gone")
    record(directory, name, os.getpid(), os.environ.get("PAYOUTS_RUN_ID", ""))
    try:
        os.execvp(command[0], command)  # noqa: S606 - run.sh's own commands
    except OSError as error:
        sys.exit(f"run_guard: {name}: cannot run {command[0]}: {error}")


def _terminal_fd() -> int | None:
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            if os.isatty(fd):
                return fd
    return None


def watch(directory: Path, parent: int) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    run_id = os.environ.get("PAYOUTS_RUN_ID", "")
    record(directory, "run", parent, run_id)
    record(directory, "watchdog", os.getpid(), run_id)
    terminal = _terminal_fd()
    hung_up = False
    while True:
        if os.getppid() != parent:
            break
        if terminal is not None and not hung_up and not os.isatty(terminal):
            # The terminal went away, but only make (its controlling process)
            # got the SIGHUP, and make waits for run.sh: tell run.sh.
            hung_up = True
            with contextlib.suppress(OSError):
                os.kill(parent, signal.SIGHUP)
        time.sleep(0.2)
    # run.sh has exited (or was killed): whatever it started must end too.
    stop(directory, keep={"run"}, grace=2, quiet=hung_up)
    for name in ("run", "watchdog"):
        (directory / f"{name}.pid").unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    if len(argv) >= 5 and argv[1] == "launch" and "--" in argv:
        split = argv.index("--")
        if split == 5 and len(argv) > 6:
            launch(Path(argv[2]), argv[3], int(argv[4]), argv[6:])
    if len(argv) == 4 and argv[1] == "watch":
        watch(Path(argv[2]), int(argv[3]))
        return 0
    if len(argv) >= 3 and argv[1] == "stop":
        keep: set[str] = set()
        grace, previous = 3.0, False
        rest = argv[3:]
        while rest:
            option = rest.pop(0)
            if option == "--except" and rest:
                keep.add(rest.pop(0))
            elif option == "--grace" and rest:
                grace = float(rest.pop(0))
            elif option == "--previous":
                previous = True
            else:
                break
        else:
            if not previous:
                # Stopping this run: a second Ctrl-C must not cut the stop short. (Stopping
                # a previous run, before this one starts, Ctrl-C ends it like the rest.)
                for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    signal.signal(signum, signal.SIG_IGN)
            stop(Path(argv[2]), keep=keep, grace=grace, previous=previous)
            return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
