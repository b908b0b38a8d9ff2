"""The files around the code that drift unless a test holds them: `.env.example`
and the dependency locks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dotenv import dotenv_values
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]

# --- .env.example --------------------------------------------------------------------------

# The backend's own code (settings, the embedded servers, gunicorn's config, the
# health check, management commands), and the scripts that start it.
PYTHON_READERS = sorted(
    str(path.relative_to(REPO))
    for path in (REPO / "backend").rglob("*.py")
    if not {"tests", "migrations"} & set(path.relative_to(REPO).parts)
)
SHELL_READERS = ["backend/start.sh", "scripts/run.sh"]
# os.environ.get("X"  os.environ["X"]  os.getenv("X"  env_int("X"  env_bool("X"  env_list("X"
PYTHON_READ = re.compile(
    r"""(?:os\.environ\.get\(|os\.environ\[|os\.getenv\(|\benv_\w+\()\s*["']([A-Z][A-Z0-9_]*)["']"""
)
SHELL_READ = re.compile(r"\$\{([A-Z][A-Z0-9_]*):?-")  # ${X:-default}, ${X-default}
EXAMPLE_ENTRY = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def variables_read() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, pattern in [(n, PYTHON_READ) for n in PYTHON_READERS] + [(n, SHELL_READ) for n in SHELL_READERS]:
        for variable in pattern.findall((REPO / name).read_text()):
            found.setdefault(variable, set()).add(name)
    return found


def test_env_example_lists_every_variable_the_project_reads():
    read = variables_read()
    settings_reads = {v for v, files in read.items() if "backend/config/settings.py" in files}
    assert len(settings_reads) >= 25, sorted(settings_reads)  # the pattern still finds the settings' reads
    listed = set(EXAMPLE_ENTRY.findall((REPO / ".env.example").read_text()))
    missing = {variable: sorted(files) for variable, files in read.items() if variable not in listed}
    assert not missing, f"read but not in .env.example: {missing}"


def test_copying_env_example_to_env_changes_nothing():
    # Every entry is commented out: a copied .env sets nothing until a line is uncommented.
    assert dotenv_values(REPO / ".env.example") == {}


def test_the_env_example_pattern_finds_each_kind_of_read():
    python = """DEBUG = env_bool("DEBUG", False)\nX = os.environ.get('HUEY_NAME', "payouts")\nY = os.environ["PORT"]"""
    assert PYTHON_READ.findall(python) == ["DEBUG", "HUEY_NAME", "PORT"]
    assert SHELL_READ.findall('role="${START_ROLE:-all}" port="${PORT-}"') == ["START_ROLE", "PORT"]


# --- the locks ---------------------------------------------------------------------------------

LOCKS = {
    "requirements.txt": "requirements.lock",
    "requirements-dev.txt": "requirements-dev.lock",
    "bench/requirements.txt": "bench/requirements.lock",
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def pins(lock: str) -> dict[str, list[tuple[Version, Marker | None]]]:
    """name -> [(version, marker)], checking that every pin carries hashes."""
    found: dict[str, list[tuple[Version, Marker | None]]] = {}
    lines = (REPO / lock).read_text().splitlines()
    for number, line in enumerate(lines):
        match = PIN.match(line)
        if not match:
            continue
        assert number + 1 < len(lines) and "--hash=sha256:" in lines[number + 1], f"{lock}: {line} has no hash"
        marker = Marker(match.group(3)) if match.group(3) else None
        found.setdefault(canonicalize_name(match.group(1)), []).append((Version(match.group(2)), marker))
    assert found, f"no pins in {lock}"
    return found


def requirements(path: str) -> list[Requirement]:
    found = []
    for raw in (REPO / path).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found += requirements(str((REPO / path).parent.relative_to(REPO) / line[3:].strip()))
        elif line:
            found.append(Requirement(line))
    return found


def pinned_here(pinned: dict[str, list[tuple[Version, Marker | None]]], name: str) -> Version | None:
    for version, marker in pinned.get(canonicalize_name(name), []):
        if marker is None or marker.evaluate():
            return version
    return None


@pytest.mark.parametrize("source", list(LOCKS))
def test_each_lock_satisfies_its_requirements(source):
    # `make lock` refreshes them; this fails when a requirements*.txt changed without it.
    pinned = pins(LOCKS[source])
    for requirement in requirements(source):
        if requirement.marker and not requirement.marker.evaluate():
            continue
        version = pinned_here(pinned, requirement.name)
        assert version is not None, f"{requirement.name} is not in {LOCKS[source]}: run make lock"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{LOCKS[source]} pins {requirement.name}=={version}, outside {requirement} in {source}: run make lock"
        )


def test_the_locks_agree_on_every_package_they_share():
    # The tests and the benchmark run exactly the releases the image runs.
    runtime, dev, bench = (
        {name: {str(v) for v, _ in pinned} for name, pinned in pins(lock).items()} for lock in LOCKS.values()
    )
    for name, versions in runtime.items():
        assert dev.get(name) == versions, f"{name}: {versions} at runtime, {dev.get(name)} for the tests"
    for name, versions in bench.items():
        if name in dev:
            assert versions <= dev[name], f"{name}: {versions} for the benchmark, {dev[name]} for the tests"


def test_ranges_pin_each_major_and_exact_where_needed():
    declared = {canonicalize_name(r.name): r for r in requirements("requirements-dev.txt")}
    for name in ["huey", "gunicorn", "redis", "dj-database-url", "mypy", "pytest"]:
        specifiers = {s.operator: Version(s.version) for s in declared[name].specifier}
        assert set(specifiers) == {">=", "<"}, f"{declared[name]}: a range, >= and <"
        assert specifiers["<"] == Version(f"{specifiers['>='].major + 1}"), f"{declared[name]}: one major"
    for name in ["pgserver", "ruff"]:  # pgserver: the embedded server uses its private import
        assert [s.operator for s in declared[name].specifier] == ["=="], f"{declared[name]}: exact"
