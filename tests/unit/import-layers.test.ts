// The folders of lib/ import each other in one direction only: the layer order in eslint.config.mjs.
// Here the rule is shown to bite (a new upward import fails the lint), and the folder graph that
// exists today is checked to have no cycle.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { ESLint } from "eslint";
import { beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "..", "..");
const eslint = new ESLint({ cwd: root });

async function restrictedImports(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, filePath) });
  return (result?.messages ?? []).filter((message) => message.ruleId === "no-restricted-imports").map((message) => message.message);
}

describe("the layer rule of npm run lint", () => {
  // Loading the lint configuration (typescript-eslint) takes seconds the first time.
  beforeAll(() => restrictedImports("lib/outcomes.ts", "export const warm = 1;\n"), 60_000);

  it.each([
    ["lib/db/new-table.ts", 'import { syncLeadJob } from "@/lib/features/sync/sync-lead";'],
    ["lib/jobs/new-runtime.ts", 'import { ALL_JOBS } from "@/lib/worker";'],
    ["lib/integrations/kommo/new-call.ts", 'import { loadSettings } from "@/lib/features/settings/account-settings";'],
    ["lib/integrations/klaviyo/new-call.ts", 'import { KommoClient } from "@/lib/integrations/kommo/client";'],
    ["lib/features/sync/new-step.ts", 'import { startBackfill } from "@/lib/features/backfill/runs";'],
    ["lib/features/sync/new-step.ts", 'import { afterInstall } from "@/lib/orchestration";'],
    ["lib/platform/new-helper.ts", 'import { db } from "@/lib/db/client";'],
    ["lib/features/intake/new-step.ts", 'import { x } from "../sync/sync-lead";'],
    ["lib/features/sync/new-step.ts", 'import { x } from "@/tests/simulators/kommo";'],
  ])("refuses an upward or sideways import in %s", async (filePath, code) => {
    expect(await restrictedImports(filePath, `${code}\nexport const used = 1;\n`)).not.toEqual([]);
  });

  it.each([
    ["lib/features/backfill/new-step.ts", 'import { loadSettings } from "@/lib/features/settings/account-settings";'],
    ["lib/features/sync/new-step.ts", 'import { KommoClient } from "@/lib/integrations/kommo/client";'],
    ["lib/orchestration.ts", 'import { startBackfill } from "@/lib/features/backfill/runs";'],
    ["lib/features/install/new-step.ts", 'import { afterInstall } from "@/lib/orchestration";'],
    ["lib/platform/new-helper.ts", 'import { OutcomeError } from "@/lib/outcomes";'],
    ["lib/features/sync/new-step.ts", 'import { x } from "./mapping";'],
  ])("allows a downward import in %s", async (filePath, code) => {
    expect(await restrictedImports(filePath, `${code}\nexport const used = 1;\n`)).toEqual([]);
  });
});

/** lib/'s folders (features and integrations one level deeper) and the folders each one imports. */
function folderGraph(): Map<string, Set<string>> {
  const folderOf = (file: string) => {
    const parts = path.relative(path.join(root, "lib"), file).split(path.sep);
    if (parts.length === 1) return parts[0]!.replace(/\.tsx?$/, "");
    return parts[0] === "features" || parts[0] === "integrations" ? `${parts[0]}/${parts[1]}` : parts[0]!;
  };
  const graph = new Map<string, Set<string>>();
  const walk = (directory: string) => {
    for (const name of readdirSync(directory)) {
      const full = path.join(directory, name);
      if (name === "generated") continue;
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.tsx?$/.test(name)) {
        const from = folderOf(full);
        const edges = graph.get(from) ?? new Set<string>();
        graph.set(from, edges);
        for (const match of readFileSync(full, "utf8").matchAll(/from "@\/lib\/([^"]+)"/g)) {
          const target = folderOf(path.join(root, "lib", `${match[1]}.ts`));
          if (target !== from) edges.add(target);
        }
      }
    }
  };
  walk(path.join(root, "lib"));
  return graph;
}

describe("lib/'s folder graph", () => {
  it("has no cycle", () => {
    const graph = folderGraph();
    const cycles: string[] = [];
    const visit = (node: string, trail: string[]) => {
      if (trail.includes(node)) {
        cycles.push([...trail.slice(trail.indexOf(node)), node].join(" -> "));
        return;
      }
      for (const next of graph.get(node) ?? []) visit(next, [...trail, node]);
    };
    for (const node of graph.keys()) visit(node, []);
    expect(cycles).toEqual([]);
    // The graph is real: features do reach down to the integrations and the database.
    expect([...(graph.get("features/sync") ?? [])]).toEqual(expect.arrayContaining(["integrations/kommo", "db"]));
  });
});
