// Prints one line "tests: N passed, N failed, N skipped" summed over every runner's JSON report,
// after the name of every failed test (the end of a long CI log is what gets read).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const directory = process.argv.slice(2).find((arg) => !arg.startsWith("--")) ?? ".data/test-results";
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];

/** Add a vitest JSON report; a run that failed without a failing test (e.g. its setup) counts as one failure. */
function addVitest(file) {
  const report = JSON.parse(readFileSync(file, "utf8"));
  passed += report.numPassedTests ?? 0;
  failed += (report.numFailedTests ?? 0) + (report.success === false && report.numFailedTests === 0 ? 1 : 0);
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  for (const suite of report.testResults ?? []) {
    const file = path.relative(process.cwd(), suite.name ?? "");
    for (const test of suite.assertionResults ?? []) {
      if (test.status === "failed") failures.push(`${file} > ${test.fullName ?? test.title}: ${firstLine(test.failureMessages?.[0])}`);
    }
    if (suite.status === "failed" && (suite.assertionResults ?? []).every((test) => test.status !== "failed")) failures.push(`${file}: ${firstLine(suite.message)}`);
  }
}

function firstLine(text) {
  return String(text ?? "").replace(/\u001b\[[0-9;]*m/g, "").split("\n").find((line) => line.trim()) ?? "";
}

/** Playwright's tests that failed, from its nested suites. */
function playwrightFailures(suites) {
  for (const suite of suites ?? []) {
    for (const spec of suite.specs ?? []) {
      if (spec.ok === false) failures.push(`${suite.file ?? spec.file} > ${spec.title}`);
    }
    playwrightFailures(suite.suites);
  }
}

const vitestReport = path.join(directory, "vitest.json");
if (existsSync(vitestReport)) {
  addVitest(vitestReport);
} else {
  failed += 1;
  console.error("vitest wrote no report");
}

// The fault suite (npm run test:faults) when it ran; `npm test` alone does not run it. With
// --with-faults (CI runs both) a missing report is a failure.
const faultsReport = path.join(directory, "faults.json");
if (existsSync(faultsReport)) {
  addVitest(faultsReport);
} else if (process.argv.includes("--with-faults")) {
  failed += 1;
  console.error("the fault suite wrote no report");
}

const playwrightReport = path.join(directory, "playwright.json");
if (existsSync(playwrightReport)) {
  const report = JSON.parse(readFileSync(playwrightReport, "utf8"));
  const stats = report.stats ?? {};
  playwrightFailures(report.suites);
  passed += (stats.expected ?? 0) + (stats.flaky ?? 0);
  failed += stats.unexpected ?? 0;
  skipped += stats.skipped ?? 0;
}

for (const failure of failures) console.log(`failed: ${failure}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
