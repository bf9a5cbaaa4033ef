"""deploy/compose.yaml against the compose-spec JSON Schema, and what the issue asks of it:
every service checked, secrets required, one image built once, pinned images, the coordinator
published, workers holding no root key, the GPU reservation and the CPU-only profile."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.schemas import compose_validator

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SECRETS = {
    "RABBITMQ_PASSWORD": "r",
    "MINIO_ROOT_USER": "root",
    "MINIO_ROOT_PASSWORD": "m",
    "FRAMEFARM_WORKER_S3_SECRET": "w",
    "FRAMEFARM_COORDINATOR_S3_SECRET": "c",
    "FRAMEFARM_API_TOKEN": "t",
}
VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


class MissingVariableError(Exception):
    """A required variable (``${VAR:?message}``) is unset, as Compose refuses it."""


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}``."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name):
            return env[name]
        if op == ":?":
            raise MissingVariableError(f"{name}: {arg}")
        return arg if op == ":-" else ""

    return VARIABLE.sub(one, value)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any]) -> dict[str, Any]:
    return interpolate(raw, SECRETS)  # type: ignore[no-any-return]


def test_the_compose_file_follows_the_compose_spec(
    raw: dict[str, Any], compose: dict[str, Any]
) -> None:
    validator = compose_validator()
    validator.validate(raw)
    validator.validate(compose)


def test_the_schema_check_catches_a_mistake(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["worker"]["healthcheck"]["intervall"] = "5s"
    with pytest.raises(jsonschema.ValidationError, match="intervall"):
        compose_validator().validate(broken)


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_every_secret_is_required(raw: dict[str, Any], missing: str) -> None:
    env = {k: v for k, v in SECRETS.items() if k != missing}
    with pytest.raises(MissingVariableError, match=missing):
        interpolate(raw, env)


def test_every_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert service.get("healthcheck", {}).get("test"), name
    for role in ("worker", "worker-cpu", "stitcher", "encoder"):
        test = compose["services"][role]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "framefarm", "health"], role
    assert "--url" in compose["services"]["coordinator"]["healthcheck"]["test"]


def test_one_image_built_once_and_every_image_pinned(compose: dict[str, Any]) -> None:
    services = compose["services"]
    built = [name for name, s in services.items() if "build" in s]
    assert built == ["coordinator"]
    ours = {s["image"] for s in services.values() if s["image"].startswith("framefarm")}
    assert ours == {"framefarm:0.1.0"}
    for name, service in services.items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: {image} is not pinned"
        if image.startswith("framefarm"):
            assert service["pull_policy"] in ("never", "build"), name
    assert services["minio"]["image"].startswith("minio/minio:RELEASE.")


def test_the_coordinator_serves_page_and_api_on_one_port_and_links_a_browser_can_open(
    compose: dict[str, Any],
) -> None:
    coordinator = compose["services"]["coordinator"]
    assert coordinator["ports"] == ["127.0.0.1:8000:8000"]
    assert coordinator["command"][:1] == ["coordinator"]
    assert "0.0.0.0" in coordinator["command"]
    public = coordinator["environment"]["FRAMEFARM_S3_PUBLIC_ENDPOINT"]
    assert public == "localhost:9000"
    assert any(p.endswith(":9000:9000") for p in compose["services"]["minio"]["ports"])


def test_only_minio_and_its_init_see_the_root_key(compose: dict[str, Any]) -> None:
    root = SECRETS["MINIO_ROOT_PASSWORD"]
    for name, service in compose["services"].items():
        values = [str(v) for v in (service.get("environment") or {}).values()]
        if name in ("minio", "minio-init"):
            assert root in values
        else:
            assert root not in values, f"{name} holds MinIO's root key"
    worker = compose["services"]["worker"]["environment"]
    assert worker["FRAMEFARM_S3_ACCESS_KEY"] == "framefarm-worker"
    init = compose["services"]["minio-init"]
    mount = init["volumes"][0].split(":")[0]
    assert (DEPLOY / mount / "init.sh").exists()
    assert (DEPLOY / mount / "farm-policy.json").exists()


def test_gpu_workers_reserve_a_gpu_and_the_cpu_profile_does_not(compose: dict[str, Any]) -> None:
    gpu, cpu = compose["services"]["worker"], compose["services"]["worker-cpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert "deploy" not in cpu
    assert gpu["profiles"] == ["gpu"] and cpu["profiles"] == ["cpu"]
    assert gpu["command"] == cpu["command"]


def test_the_build_context_leaves_the_venv_out() -> None:
    ignore = (DEPLOY.parent / ".dockerignore").read_text().splitlines()
    first = next(line for line in ignore if line and not line.startswith("#"))
    assert first == "**"  # everything out, then the packages back in
    included = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert ".venv" not in included and "examples" in included
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for copied in re.findall(r"^COPY (?!--)(\S+)", dockerfile, re.MULTILINE):
        assert copied in included, f"the Dockerfile copies {copied}, which .dockerignore drops"
