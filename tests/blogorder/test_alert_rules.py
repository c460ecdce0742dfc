"""docker/prometheus/alerts.yml: valid rules, one per alert condition of issue 12, on metrics /metrics exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client

from tests.blogorder.test_metrics import scrape

RULES = Path(__file__).resolve().parents[2] / "docker" / "prometheus" / "alerts.yml"
METRIC = re.compile(r"\b((?:blogorder|rq)_[a-z0-9_]+)\b")
# Each condition staff must hear of, and the alert that tells them.
CONDITIONS = {
    "a maintenance job failed": "BlogorderMaintenanceJobFailed",
    "no live worker on a queue for 2 minutes": "BlogorderNoLiveWorker",
    "an order in PROCESSING past its deadline": "BlogorderOrderProcessingOverdue",
    "the oldest queued job older than a threshold": "BlogorderQueueOldestJobTooOld",
    "the failed-job registry growing": "BlogorderFailedJobsGrowing",
}


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_alert_condition_has_a_rule_with_an_expression_and_a_summary() -> None:
    by_name = {rule["alert"]: rule for rule in rules()}
    for condition, alert in CONDITIONS.items():
        assert alert in by_name, f"no rule for {condition}"
        rule = by_name[alert]
        assert rule["expr"].strip() and rule["annotations"]["summary"], alert
        assert rule["labels"]["severity"] in {"page", "warning"}
    assert by_name["BlogorderNoLiveWorker"]["for"] == "2m"
    assert 'queue="maintenance"' in by_name["BlogorderMaintenanceJobFailed"]["expr"]


@pytest.mark.django_db
def test_every_metric_a_rule_reads_is_exported_by_metrics(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = "metrics-test-token-0123456789"
    samples, families = scrape(client)
    exported = families | {name for name, _ in samples}
    labels_of: dict[str, set[str]] = {}
    for name, labels in samples:
        labels_of.setdefault(name, set()).update(key for key, _ in labels)

    for rule in rules():
        names = set(METRIC.findall(rule["expr"]))
        assert names, f"{rule['alert']} reads no metric of ours"
        assert names <= exported, (
            f"{rule['alert']} reads {sorted(names - exported)}, which /metrics does not export"
        )
        for name, selector in re.findall(r"\b((?:blogorder|rq)_[a-z0-9_]+)\{([^}]*)\}", rule["expr"]):
            used = set(re.findall(r"([a-z_]+)\s*=", selector))
            assert used <= labels_of.get(name, set()), f"{rule['alert']}: {name} has no label {used}"


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool is not installed; the YAML checks above still run"
)
def test_promtool_accepts_the_rules() -> None:
    subprocess.run(["promtool", "check", "rules", str(RULES)], check=True)
