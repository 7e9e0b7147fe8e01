// Validates custom resources against their CRD schemas with the @kubernetes-models packages
// (generated from the operators' CRDs; .ci/install-deploy-tools installs them, pinned by
// package-lock.json next to this file).
//
//   node validate-crds.mjs NODE_MODULES FILE.json...
//
// Each FILE holds one object. Prints `ok FILE KIND/NAME` or `invalid FILE KIND/NAME: errors` per
// file; exits 1 if any object is invalid or of a kind without a model here, 2 on usage errors.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [nodeModules, ...files] = process.argv.slice(2);
if (!nodeModules || files.length === 0) {
  console.error("usage: node validate-crds.mjs NODE_MODULES FILE.json...");
  process.exit(2);
}

// apiVersion -> module of that group version's models (each exports one class per kind).
const MODELS = {
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/index.js",
  "keda.sh/v1alpha1": "@kubernetes-models/keda/keda.sh/v1alpha1/index.js",
};

let failed = false;
for (const file of files) {
  const object = JSON.parse(readFileSync(file, "utf8"));
  const what = `${object.kind}/${object.metadata?.name}`;
  const module = MODELS[object.apiVersion];
  const Model = module && (await import(pathToFileURL(join(nodeModules, module))))[object.kind];
  if (!Model) {
    console.log(`invalid ${file} ${what}: no schema model for ${object.apiVersion} ${object.kind}`);
    failed = true;
    continue;
  }
  try {
    new Model(object).validate();
    console.log(`ok ${file} ${what}`);
  } catch (e) {
    console.log(`invalid ${file} ${what}: ${e.message}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
