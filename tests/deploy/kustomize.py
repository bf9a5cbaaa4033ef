"""A small kustomize in Python, for the features deploy/k8s uses: resources (files and
kustomization folders), namespace, labels, configMapGenerator (files, no hash suffix), images,
strategic-merge patches (lists of named objects merged by name) and JSON 6902 patches.

The tests render with it where ``kubectl kustomize`` is absent, and compare the two where it is
present, so this renderer is itself checked against the real one."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]
CLUSTER_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
MERGE_KEYS = {"containers": "name", "env": "name", "volumes": "name", "ports": "containerPort"}
MERGE_KEYS |= {"volumeMounts": "mountPath", "initContainers": "name"}


class KustomizeError(Exception):
    """A kustomization this renderer cannot build (or that kustomize would refuse)."""


def build(folder: Path) -> list[Resource]:
    """The resources of the kustomization in ``folder``, as kustomize would emit them."""
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text())
    resources: list[Resource] = []
    for entry in spec.get("resources", []):
        path = (folder / entry).resolve()
        if path.is_dir():
            resources.extend(build(path))
        else:
            resources.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for generator in spec.get("configMapGenerator", []):
        data = {Path(f).name: (folder / f).read_text() for f in generator.get("files", [])}
        if not spec.get("generatorOptions", {}).get("disableNameSuffixHash"):
            raise KustomizeError("name suffix hashes are not implemented")
        resources.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": generator["name"]},
                "data": data,
            }
        )
    for patch in spec.get("patches", []):
        _apply_patch(folder, resources, patch)
    for image in spec.get("images", []):
        _set_image(resources, image)
    for labels in spec.get("labels", []):
        for resource in resources:
            resource.setdefault("metadata", {}).setdefault("labels", {}).update(labels["pairs"])
    if "namespace" in spec:
        for resource in resources:
            if resource["kind"] == "Namespace":
                resource["metadata"]["name"] = spec["namespace"]
            elif resource["kind"] not in CLUSTER_KINDS:
                resource["metadata"]["namespace"] = spec["namespace"]
    return resources


def _apply_patch(folder: Path, resources: list[Resource], patch: dict[str, Any]) -> None:
    if "path" in patch:
        body = yaml.safe_load((folder / patch["path"]).read_text())
        target = _find(resources, body["kind"], body["metadata"]["name"])
        merged = strategic_merge(target, body)
        target.clear()
        target.update(merged)
        return
    operations = yaml.safe_load(patch["patch"])
    target = _find(resources, patch["target"]["kind"], patch["target"]["name"])
    for operation in operations:
        *parents, last = operation["path"].strip("/").split("/")
        node: Any = target
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if operation["op"] not in ("replace", "add"):
            raise KustomizeError(f"JSON patch op {operation['op']} is not implemented")
        node[int(last) if isinstance(node, list) else last] = operation["value"]


def strategic_merge(base: Any, patch: Any, key: str = "") -> Any:
    """Maps merge key by key; lists of named objects (MERGE_KEYS) merge item by item; any other
    value in the patch replaces the base's."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for name, value in patch.items():
            out[name] = strategic_merge(base[name], value, name) if name in base else value
        return out
    if isinstance(base, list) and isinstance(patch, list) and key in MERGE_KEYS:
        merge_key = MERGE_KEYS[key]
        items: list[Any] = copy.deepcopy(base)
        added: list[Any] = []
        for item in patch:
            match = [i for i, old in enumerate(items) if old.get(merge_key) == item.get(merge_key)]
            if match:
                items[match[0]] = strategic_merge(items[match[0]], item)
            else:
                added.append(copy.deepcopy(item))
        return added + items  # kustomize puts the patch's new items first
    return copy.deepcopy(patch)


def _find(resources: list[Resource], kind: str, name: str) -> Resource:
    for resource in resources:
        if resource["kind"] == kind and resource["metadata"]["name"] == name:
            return resource
    raise KustomizeError(f"no {kind} {name} to patch")


def _set_image(resources: list[Resource], image: dict[str, str]) -> None:
    for resource in resources:
        spec = resource.get("spec", {}).get("template", {}).get("spec", {})
        for container in (*spec.get("containers", []), *spec.get("initContainers", [])):
            if container.get("image") == image["name"]:
                container["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
