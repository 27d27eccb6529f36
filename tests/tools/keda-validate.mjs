// Validates KEDA ScaledObjects against KEDA's CRD schemas (npm "@kubernetes-models/keda",
// generated from them): node keda-validate.mjs <package dir> < objects.json, a JSON
// array of objects. Prints one line per object and exits 1 if any is invalid.
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const models = await import(pathToFileURL(join(process.argv[2], "keda.sh", "v1alpha1", "index.js")));
let input = "";
for await (const chunk of process.stdin) input += chunk;
let invalid = 0;
for (const object of JSON.parse(input)) {
  const name = `${object.kind}/${object.metadata?.name}`;
  try {
    new models[object.kind](object).validate();
    console.log(`valid: ${name}`);
  } catch (error) {
    invalid += 1;
    console.log(`invalid: ${name}: ${error.message}`);
  }
}
process.exit(invalid ? 1 : 0);
