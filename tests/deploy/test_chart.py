"""Chart unit tests over the real ``helm template`` output: what each Deployment runs,
its security context, probes, volumes, secret wiring, PDB, the provisioning Job, and the
monitoring objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import (
    CHART,
    Manifests,
    containers,
    named,
    of_kind,
    pod_specs,
)

pytestmark = pytest.mark.timeout(120)

Render = Callable[..., Manifests]
CI = CHART / "ci"


def deployments(manifests: Manifests) -> dict[str, dict[str, Any]]:
    return {
        m["metadata"]["labels"]["app.kubernetes.io/component"]: m
        for m in of_kind(manifests, "Deployment")
    }


def test_defaults_when_rendered_then_worker_executor_and_monitor_without_paper_parts(
    render: Render,
) -> None:
    assert set(deployments(render())) == {"worker", "executor", "monitor"}


def test_monitor_when_rendered_then_serves_its_exit_model_with_probes_and_the_ack_timeout(
    render: Render,
) -> None:
    monitor = deployments(render())["monitor"]
    container = monitor["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:4] == ["monitor", "run", "--model", "exit-model"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    settings = next(
        m for m in of_kind(render(), "ConfigMap") if "settings" in m["metadata"]["name"]
    )
    assert settings["data"]["HFOS_MODEL_ACK_TIMEOUT_SECONDS"] == "30"


def test_paper_when_enabled_then_exchange_and_simulator_added(render: Render) -> None:
    parts = deployments(render(CI / "paper-values.yaml"))
    assert set(parts) == {"worker", "executor", "monitor", "exchange", "simulator"}
    exchange = parts["exchange"]
    assert exchange["spec"]["replicas"] == 1
    assert exchange["spec"]["strategy"] == {"type": "Recreate"}  # never two that fence
    args = exchange["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:2] == ["exchange", "run"]
    assert args[-4:] == ["--account", "paper-1", "--account", "paper-2"]


@pytest.mark.parametrize("values", [None, "paper-values.yaml", "secured-values.yaml"])
def test_every_pod_when_rendered_then_non_root_with_runtime_default_seccomp(
    render: Render, values: str | None
) -> None:
    for spec in pod_specs(render(*([CI / values] if values else []))):
        context = spec["securityContext"]
        assert context["runAsNonRoot"] is True
        assert context["runAsUser"] > 0
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False


@pytest.mark.parametrize("values", [None, "paper-values.yaml", "secured-values.yaml"])
def test_every_container_when_rendered_then_read_only_root_and_no_capabilities(
    render: Render, values: str | None
) -> None:
    for container in containers(render(*([CI / values] if values else []))):
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}


def test_every_pod_when_rendered_then_tmp_and_data_dir_are_emptydirs(render: Render) -> None:
    manifests = render(CI / "paper-values.yaml")
    for spec in pod_specs(manifests):
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes["tmp"]
        assert "emptyDir" in volumes["data"]
    for container in containers(manifests):
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert mounts["/tmp"] == "tmp"  # noqa: S108 - the path mounted, not a temp file
        assert mounts["/var/lib/hfos"] == "data"
    settings = named(manifests, "ConfigMap", "-settings")["data"]
    assert settings["HFOS_WORKER_DATA_DIR"].startswith("/var/lib/hfos/")


def test_services_with_metrics_port_when_rendered_then_probe_healthz_and_readyz(
    render: Render,
) -> None:
    parts = deployments(render(CI / "paper-values.yaml"))
    for name in ("worker", "executor", "monitor", "exchange"):
        [container] = parts[name]["spec"]["template"]["spec"]["containers"]
        assert container["ports"] == [{"name": "metrics", "containerPort": 9100, "protocol": "TCP"}]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
        assert container["resources"]["requests"]["memory"]
        assert container["resources"]["limits"]["memory"]
    # The simulator serves no port: it has nothing to probe.
    assert "livenessProbe" not in parts["simulator"]["spec"]["template"]["spec"]["containers"][0]


def test_termination_grace_when_rendered_then_long_enough_for_a_commit(render: Render) -> None:
    for deployment in of_kind(render(), "Deployment"):
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 30


def test_pdb_when_rendered_then_one_per_part_with_max_unavailable_one(render: Render) -> None:
    manifests = render(CI / "paper-values.yaml")
    pdbs = {
        p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]: p
        for p in of_kind(manifests, "PodDisruptionBudget")
    }
    assert set(pdbs) == set(deployments(manifests))
    assert all(p["spec"]["maxUnavailable"] == 1 for p in pdbs.values())
    for name, deployment in deployments(manifests).items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert pdbs[name]["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_secrets_when_secured_then_only_references_to_existing_secrets(render: Render) -> None:
    manifests = render(CI / "secured-values.yaml")
    assert of_kind(manifests, "Secret") == []
    for container in containers(manifests):
        refs = {
            e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e
        }
        assert refs == {
            "KAFKA_SASL_PASSWORD": {"name": "hfos-kafka-sasl", "key": "password"},
            "KAFKA_SSL_KEY_PASSWORD": {"name": "hfos-kafka-tls", "key": "key-password"},
            "SCHEMA_REGISTRY_PASSWORD": {"name": "hfos-registry", "key": "password"},
            "REDIS_URL": {"name": "hfos-redis", "key": "url"},
        }
    settings = named(manifests, "ConfigMap", "-settings")["data"]
    assert "REDIS_URL" not in settings  # it carries the password: from the Secret only
    assert settings["KAFKA_SSL_CA_LOCATION"] == "/etc/hfos/kafka-tls/ca.crt"
    assert settings["KAFKA_SSL_KEY_LOCATION"] == "/etc/hfos/kafka-tls/tls.key"
    for spec in pod_specs(manifests):
        [tls] = [v for v in spec["volumes"] if v["name"] == "kafka-tls"]
        assert tls["secret"]["secretName"] == "hfos-kafka-tls"


def test_secrets_when_rendered_then_no_secret_value_anywhere(render: Render) -> None:
    text = yaml.safe_dump_all(render(CI / "secured-values.yaml"))
    assert "hunter2" not in text
    assert "password:" not in text.lower().replace("passwordkey", "")


def test_settings_when_changed_then_pods_roll(render: Render) -> None:
    before = deployments(render())["worker"]["spec"]["template"]["metadata"]["annotations"]
    after = deployments(render(sets=("settings.topicPrefix=other.",)))["worker"]
    changed = after["spec"]["template"]["metadata"]["annotations"]
    assert before["checksum/settings"] != changed["checksum/settings"]


def test_provisioning_job_when_rendered_then_pre_install_hook_creating_topics_then_schemas(
    render: Render,
) -> None:
    job = named(render(), "Job", "-provision")
    hooks = job["metadata"]["annotations"]
    assert hooks["helm.sh/hook"] == "pre-install,pre-upgrade"
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["initContainers"][0]["args"] == ["topics", "create", "--replication-factor", "3"]
    assert spec["containers"][0]["args"] == ["schemas", "register"]
    # A hook runs before the ConfigMap exists: its settings are inline.
    env = {e["name"] for e in spec["containers"][0]["env"]}
    assert {"KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL", "HFOS_TOPIC_PREFIX"} <= env
    assert "envFrom" not in spec["containers"][0]


def test_monitoring_when_disabled_then_no_operator_objects(render: Render) -> None:
    kinds = {m["kind"] for m in render()}
    assert not kinds & {"ServiceMonitor", "PrometheusRule"}


def test_prometheus_rule_when_enabled_then_embeds_rules_file_unchanged(render: Render) -> None:
    rule = named(render(CI / "monitoring-values.yaml"), "PrometheusRule", "")
    plain = yaml.safe_load((CHART / "files" / "prometheus-rules.yaml").read_text())
    assert rule["spec"] == plain
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_service_monitor_when_enabled_then_scrapes_metrics_port_as_hfos_jobs(
    render: Render,
) -> None:
    manifests = render(CI / "monitoring-values.yaml", CI / "paper-values.yaml")
    monitor = named(manifests, "ServiceMonitor", "")
    assert monitor["spec"]["jobLabel"] == "hfos.io/job"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    jobs = {s["metadata"]["labels"]["hfos.io/job"] for s in of_kind(manifests, "Service")}
    # The job names the alert rules select on (up{job="hfos-worker"} …).
    assert jobs == {"hfos-worker", "hfos-executor", "hfos-monitor", "hfos-exchange"}
    selector = monitor["spec"]["selector"]["matchLabels"]
    for service in of_kind(manifests, "Service"):
        assert selector.items() <= service["metadata"]["labels"].items()


def test_dashboard_when_enabled_then_configmap_with_sidecar_label_and_the_json(
    render: Render,
) -> None:
    dashboard = named(render(CI / "monitoring-values.yaml"), "ConfigMap", "-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = (CHART / "files" / "dashboard.json").read_text()
    assert dashboard["data"]["hfos.json"].strip() == shipped.strip()
