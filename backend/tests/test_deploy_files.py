"""deploy/: the alerts, their promtool tests, the Grafana dashboard and the compose
profile that runs them name only series the exporter publishes, and fit together.

promtool itself runs in `make test`'s deploy phase (scripts/test.sh deploy)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
ALERTS = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
PROMETHEUS = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
DASHBOARD = json.loads((DEPLOY / "grafana" / "payouts.json").read_text())
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
TOKEN = "deploy-files-metrics-token"

# Series Prometheus makes itself, not the exporter.
PROMETHEUS_OWN = {"up"}
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (not functions, labels, keywords or numbers)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges, Grafana's $__rate_interval
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", expr):
        name, call = match.group(1), match.group(2)
        if not call and name not in _KEYWORDS:
            names.add(name)
    return names


def test_metric_names_reads_names_and_nothing_else():
    expr = (
        "histogram_quantile(0.99, sum by (route, le)"
        ' (rate(http_request_seconds_bucket{status=~"5.."}[$__rate_interval])))'
        " / on (job) group_left sum without (instance) (payouts_in_flight offset 5m) > bool 2"
        ' or time() - max(worker_heartbeat_timestamp_seconds) and absent(up{job="x"})'
    )
    assert metric_names(expr) == {
        "http_request_seconds_bucket",
        "payouts_in_flight",
        "worker_heartbeat_timestamp_seconds",
        "up",
    }


def alert_rules() -> list[dict]:
    return [rule for group in ALERTS["groups"] for rule in group["rules"] if "alert" in rule]


def dashboard_exprs() -> list[str]:
    return [target["expr"] for panel in DASHBOARD["panels"] for target in panel.get("targets", [])]


@pytest.fixture
def exported(api, settings) -> set[str]:
    """Every family and sample name of /api/v1/metrics, as a scrape sees it."""
    from common import metrics

    settings.METRICS_TOKEN = TOKEN
    metrics.DATABASE_GAUGES.invalidate()
    reply = api.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert reply.status == 200, reply.text
    families = list(text_string_to_metric_families(reply.text))
    return {family.name for family in families} | {s.name for family in families for s in family.samples}


def test_every_metric_the_alerts_and_the_dashboard_read_is_exported(exported):
    alerts = {name for rule in alert_rules() for name in metric_names(rule["expr"])}
    dashboard = {name for expr in dashboard_exprs() for name in metric_names(expr)}
    assert len(alerts) == 9 and len(dashboard) == 15, (alerts, dashboard)  # the parser still finds them
    assert not (alerts - exported - PROMETHEUS_OWN), "alerts read series nobody exports"
    assert not (dashboard - exported - PROMETHEUS_OWN), "the dashboard reads series nobody exports"
    # The metrics the operators' issue asks the dashboard to show.
    for name in (
        "payouts_created_total",
        "payouts_finished_total",
        "http_request_seconds_bucket",
        "http_requests_total",
        "payouts_in_flight",
        "payout_oldest_in_flight_seconds",
        "worker_heartbeat_timestamp_seconds",
        "bank_requests_total",
        "ledger_check_violations",
        "payouts_merchant_lock_wait_seconds_bucket",
    ):
        assert name in dashboard, name


def test_every_alert_has_a_promtool_case_that_fires_and_one_that_stays_silent():
    fired: dict[str, int] = {}
    silent: dict[str, int] = {}
    for path in sorted((DEPLOY / "prometheus" / "tests").glob("*.yml")):
        suite = yaml.safe_load(path.read_text())
        assert (path.parent / suite["rule_files"][0]).resolve() == (DEPLOY / "prometheus" / "alerts.yml")
        for case in suite["tests"]:
            for check in case.get("alert_rule_test", []):
                counts = fired if check.get("exp_alerts") else silent
                counts[check["alertname"]] = counts.get(check["alertname"], 0) + 1
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names)) == 10
    for name in names:
        assert fired.get(name, 0) >= 1, f"{name}: no case where it fires"
        assert silent.get(name, 0) >= 1, f"{name}: no case where it stays silent"
    assert not (set(fired) | set(silent)) - set(names), "a test names an alert that does not exist"


def test_every_alert_links_its_runbook_section():
    runbook = (REPO / "docs" / "RUNBOOK.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#{2,3} (.+)$", runbook, re.MULTILINE)
    }
    for rule in alert_rules():
        assert rule["labels"]["severity"] in ("page", "warn"), rule["alert"]
        path, _, anchor = rule["annotations"]["runbook"].partition("#")
        assert path == "docs/RUNBOOK.md"
        assert anchor in anchors, f"{rule['alert']}: no section #{anchor} in docs/RUNBOOK.md"


def test_the_dashboard_is_well_formed_and_uses_the_provisioned_data_source():
    datasources = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    (source,) = datasources["datasources"]
    assert source["url"] == "http://prometheus:9090"
    assert DASHBOARD["uid"] == "payouts-engine"
    ids = [panel["id"] for panel in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    for panel in DASHBOARD["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == source["uid"]
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]
    # Laid out on Grafana's 24 columns without overlaps.
    cells = set()
    for panel in DASHBOARD["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, panel["title"]
                cells.add((x, y))


def test_prometheus_scrapes_the_api_and_the_workers_with_the_metrics_token():
    jobs = {job["job_name"]: job for job in PROMETHEUS["scrape_configs"]}
    assert set(jobs) == {"payouts-api", "payouts-worker"}
    assert jobs["payouts-api"]["metrics_path"] == "/api/v1/metrics"
    assert jobs["payouts-api"]["static_configs"][0]["targets"] == ["api:8000"]
    assert jobs["payouts-worker"]["metrics_path"] == "/metrics"
    worker_port = int(COMPOSE["services"]["worker"]["environment"]["WORKER_METRICS_PORT"])
    assert jobs["payouts-worker"]["dns_sd_configs"][0]["port"] == worker_port
    for job in jobs.values():
        assert job["authorization"] == {"type": "Bearer", "credentials_file": "metrics_token"}
    assert PROMETHEUS["rule_files"] == ["alerts.yml"]


def test_the_observability_profile_runs_prometheus_and_grafana_on_these_files():
    services = COMPOSE["services"]
    prometheus, grafana = services["prometheus"], services["grafana"]
    assert prometheus["profiles"] == grafana["profiles"] == ["observability"]
    for name, service in services.items():
        if name not in ("prometheus", "grafana"):
            assert "profiles" not in service, name  # `docker compose up` alone runs the stack as before
    command = " ".join(prometheus["command"])
    assert "/etc/prometheus/metrics_token" in command and "$$METRICS_TOKEN" in command
    assert "--config.file=/etc/prometheus/prometheus.yml" in command
    mounts = [volume.split(":") for volume in prometheus["volumes"] + grafana["volumes"]]
    for source, *_ in mounts:
        if source.startswith("./"):
            assert (REPO / source).exists(), source
    assert ["./deploy/grafana/provisioning", "/etc/grafana/provisioning", "ro"] in mounts
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/payouts.yml").read_text())
    dashboards_dir = provider["providers"][0]["options"]["path"]
    assert ["./deploy/grafana/payouts.json", f"{dashboards_dir}/payouts.json", "ro"] in mounts
    # The api and the workers answer the token Prometheus sends.
    token = COMPOSE["x-app-environment"]["METRICS_TOKEN"]
    assert prometheus["environment"]["METRICS_TOKEN"] == token


def test_the_worker_container_is_healthy_by_its_heartbeat_not_by_a_process():
    test = COMPOSE["services"]["worker"]["healthcheck"]["test"]
    assert test == ["CMD", "python", "/app/backend/healthcheck.py", "worker"]
    dockerfile = (REPO / "backend" / "Dockerfile").read_text()
    # The image's check follows START_ROLE, so a worker-only container from it checks the heartbeat too.
    assert 'CMD ["python", "/app/backend/healthcheck.py"]' in dockerfile
