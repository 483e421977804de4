// The README's map of lib/ is the one a newcomer reads first: every folder and top-level module of
// lib/ (and every feature and integration) has its row, and no row names one that is gone.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..", "..");
const readme = readFileSync(path.join(root, "README.md"), "utf8");
const architecture = readme.slice(readme.indexOf("## Architecture"), readme.indexOf("\n## ", readme.indexOf("## Architecture") + 1));

function entriesOfLib(): string[] {
  const entries: string[] = [];
  for (const entry of readdirSync(path.join(root, "lib"), { withFileTypes: true })) {
    if (entry.isDirectory() && (entry.name === "features" || entry.name === "integrations")) {
      for (const inner of readdirSync(path.join(root, "lib", entry.name), { withFileTypes: true })) if (inner.isDirectory()) entries.push(`${entry.name}/${inner.name}`);
    } else entries.push(entry.name);
  }
  return entries;
}

/** Names in the table's first column: `features/sync`, `worker.ts`, `integrations/kommo`, ... */
function namesInTheMap(): string[] {
  const names: string[] = [];
  for (const line of architecture.split("\n")) {
    const cell = /^\| ([^|]+) \|/.exec(line)?.[1];
    if (!cell || cell.trim() === "folder" || cell.startsWith("---")) continue;
    for (const match of cell.matchAll(/`([^`]+)`/g)) names.push(match[1]!);
  }
  return names;
}

describe("README architecture map", () => {
  it("has a row for everything in lib/ and nothing that is not there", () => {
    const onDisk = entriesOfLib().sort();
    expect(namesInTheMap().sort()).toEqual(onDisk);
  });
});
