// Prints one line "tests: N passed, N failed, N skipped" summed over every runner's JSON report.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const directory = process.argv[2] ?? ".data/test-results";
let passed = 0;
let failed = 0;
let skipped = 0;

const vitestReport = path.join(directory, "vitest.json");
if (existsSync(vitestReport)) {
  const report = JSON.parse(readFileSync(vitestReport, "utf8"));
  passed += report.numPassedTests ?? 0;
  failed += (report.numFailedTests ?? 0) + (report.success === false && report.numFailedTests === 0 ? 1 : 0);
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
} else {
  failed += 1;
  console.error("vitest wrote no report");
}

const playwrightReport = path.join(directory, "playwright.json");
if (existsSync(playwrightReport)) {
  const stats = JSON.parse(readFileSync(playwrightReport, "utf8")).stats ?? {};
  passed += (stats.expected ?? 0) + (stats.flaky ?? 0);
  failed += stats.unexpected ?? 0;
  skipped += stats.skipped ?? 0;
}

console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
