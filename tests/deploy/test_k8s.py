"""deploy/k8s rendered (base and both overlays) and checked offline: Kubernetes kinds against
the bundled Kubernetes schemas (strict: unknown fields fail), KEDA's against KEDA's own package,
and what the issue asks of the manifests."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from common.adapters.bus import Queues
from tests.deploy.kustomize import build
from tests.deploy.schemas import KUBERNETES_VERSION, keda_errors

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OVERLAYS = ("gpu", "cpu")
OPERATOR_KINDS = {
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"),
    ("rabbitmq.com/v1beta1", "User"),
    ("rabbitmq.com/v1beta1", "Permission"),
    ("minio.min.io/v2", "Tenant"),
}
"""Operators' resources: no package here bundles their schemas, so they are not schema-checked."""
Resource = dict[str, Any]


def rendered(overlay: str) -> list[Resource]:
    return build(K8S / "overlays" / overlay)


def by_kind(resources: list[Resource], kind: str) -> dict[str, Resource]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def containers(deployment: Resource) -> list[dict[str, Any]]:
    return deployment["spec"]["template"]["spec"]["containers"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_manifest_passes_the_kubernetes_and_keda_schemas(overlay: str) -> None:
    resources = rendered(overlay)
    keda = [r for r in resources if r["apiVersion"].startswith("keda.sh/")]
    builtin = [r for r in resources if r not in keda]
    for resource in builtin:
        if (resource["apiVersion"], resource["kind"]) in OPERATOR_KINDS:
            continue
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
    assert {r["kind"] for r in keda} == {"ScaledObject", "TriggerAuthentication"}
    errors = keda_errors(keda)
    assert len(errors) == len(keda)
    assert all(error is None for error in errors.values()), errors


def test_the_schema_checks_catch_mistakes() -> None:
    resources = rendered("gpu")
    worker = copy.deepcopy(by_kind(resources, "Deployment")["framefarm-worker"])
    containers(worker)[0]["livenessProbe"]["periodSecond"] = 5
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(worker, KUBERNETES_VERSION, strict=True)
    scaled = copy.deepcopy(by_kind(resources, "ScaledObject")["framefarm-worker"])
    scaled["spec"]["minReplicaCount"] = "zero"
    assert keda_errors([scaled])["ScaledObject/framefarm-worker"] is not None


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_python_renderer_agrees_with_kubectl_kustomize(overlay: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the Python renderer alone is used")
    output = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    theirs = [d for d in yaml.safe_load_all(output) if d]

    def key(r: Resource) -> tuple[str, str]:
        return r["kind"], r["metadata"]["name"]

    assert sorted(rendered(overlay), key=key) == sorted(theirs, key=key)


def test_the_coordinator_runs_twice_behind_a_service_and_an_ingress() -> None:
    resources = rendered("gpu")
    coordinator = by_kind(resources, "Deployment")["framefarm-coordinator"]
    assert coordinator["spec"]["replicas"] == 2
    service = by_kind(resources, "Service")["framefarm-coordinator"]
    assert service["spec"]["selector"] == coordinator["spec"]["selector"]["matchLabels"]
    ingress = by_kind(resources, "Ingress")["framefarm"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "framefarm-coordinator"


def test_gpu_workers_request_a_gpu_and_cpu_workers_do_not() -> None:
    for overlay, wants_gpu in (("gpu", True), ("cpu", False)):
        worker = by_kind(rendered(overlay), "Deployment")["framefarm-worker"]
        resources = containers(worker)[0]["resources"]
        assert (resources["limits"].get("nvidia.com/gpu") == 1) is wants_gpu, overlay
        env = {e["name"] for e in containers(worker)[0]["env"]}
        assert "FRAMEFARM_AMQP_URL" in env, overlay  # the patch merged, not replaced


def test_keda_scales_workers_and_encoders_from_zero_on_their_queues() -> None:
    resources = rendered("gpu")
    deployments = by_kind(resources, "Deployment")
    settings = by_kind(resources, "ConfigMap")["framefarm-settings"]["data"]
    queues = Queues(settings["FRAMEFARM_QUEUE_PREFIX"])
    expected = {"framefarm-worker": queues.render, "framefarm-encoder": queues.encode}
    scaled = by_kind(resources, "ScaledObject")
    assert set(scaled) == set(expected)
    auth = by_kind(resources, "TriggerAuthentication")
    for name, queue in expected.items():
        spec = scaled[name]["spec"]
        assert spec["minReplicaCount"] == 0
        assert spec["scaleTargetRef"]["name"] == name and name in deployments
        trigger = spec["triggers"][0]
        assert trigger["type"] == "rabbitmq"
        assert trigger["metadata"]["queueName"] == queue
        assert trigger["metadata"]["protocol"] == "http"  # counts unacknowledged chunks too
        assert trigger["authenticationRef"]["name"] in auth


def test_every_farm_container_has_probes_resources_and_no_root() -> None:
    resources = rendered("gpu")
    deployments = by_kind(resources, "Deployment")
    budgets = by_kind(resources, "PodDisruptionBudget")
    selected = {
        b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for b in budgets.values()
    }
    for name, deployment in deployments.items():
        assert name in selected, f"{name} has no PodDisruptionBudget"
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            assert container["livenessProbe"], name
            assert container["resources"]["requests"]["cpu"], name
            assert container["resources"]["limits"]["memory"], name
            assert container["image"] == "framefarm:0.1.0", name
        if name != "framefarm-coordinator":
            assert pod["containers"][0]["livenessProbe"]["exec"]["command"][:2] == [
                "framefarm",
                "health",
            ]


def test_a_worker_has_time_to_finish_one_chunk() -> None:
    from common.jobs.chunks import MAX_CHUNK_FRAMES

    worker = by_kind(rendered("cpu"), "Deployment")["framefarm-worker"]
    grace = worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    cpu_fps_720p = 19  # docs/benchmarks.md: llvmpipe end to end at 1280x720
    assert grace >= MAX_CHUNK_FRAMES / cpu_fps_720p


def test_secrets_the_manifests_use_are_documented() -> None:
    readme = (K8S.parent / "README.md").read_text()
    names = _secret_names(rendered("gpu"))
    assert names
    for name in names:
        assert f"`{name}`" in readme, f"Secret {name} is not in deploy/README.md"


def _secret_names(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("secretKeyRef", "secretRef") and isinstance(value, dict):
                found.add(value["name"])
            elif key == "secretTargetRef":
                found |= {v["name"] for v in value}
            elif key in ("configuration", "importCredentialsSecret") and isinstance(value, dict):
                found.add(value["name"])
            else:
                found |= _secret_names(value)
    elif isinstance(node, list):
        for item in node:
            found |= _secret_names(item)
    return found
