// Validate KEDA resources with @kubernetes-models/keda's compiled schemas (its own validators).
// stdin: a JSON array of resources; stdout: a JSON array of {kind, name, errors} (errors null
// when valid). A kind this package has no schema for is reported, never passed silently.
import { readFileSync } from "node:fs";

const resources = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const resource of resources) {
  const [group, version] = resource.apiVersion.split("/");
  const module = `@kubernetes-models/keda/${group}/${version}/${resource.kind}`;
  let errors = null;
  try {
    const { [resource.kind]: Model } = await import(module);
    new Model(resource).validate();
  } catch (error) {
    errors = String(error && error.message ? error.message : error);
  }
  results.push({ kind: resource.kind, name: resource.metadata?.name ?? null, errors });
}
process.stdout.write(JSON.stringify(results));
