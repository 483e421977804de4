// The worker's production build: lib/worker-main.ts and the project's modules it imports, bundled
// into one ES module beside the web build (.next/worker/main.mjs), run with plain node. tsx's
// loader costs every worker process about 40 MB and a thread of its own; the bundle costs neither.
// Packages stay external: they load from node_modules as they do under tsx.
//
//   npm run build          (next build, then this)
//   node --import tsx scripts/build-worker.ts [build directory, default .next]
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";

const projectRoot = path.resolve(__dirname, "..");
const ENTRY = path.join(projectRoot, "lib", "worker-main.ts");

/** Where a build directory (`.next` or a copy of it) keeps the worker's bundle. */
export function workerBundlePath(buildDirectory = path.join(projectRoot, ".next")): string {
  return path.join(buildDirectory, "worker", "main.mjs");
}

export function workerBundleExists(buildDirectory?: string): boolean {
  return existsSync(workerBundlePath(buildDirectory));
}

/** The bundle's age, to rebuild it when a source changed since (`npm start`). */
export function workerBundleBuiltAt(buildDirectory?: string): number {
  const bundle = workerBundlePath(buildDirectory);
  return existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
}

export async function buildWorkerBundle(buildDirectory?: string): Promise<string> {
  const outfile = workerBundlePath(buildDirectory);
  await build({
    entryPoints: [ENTRY],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    // ESM: Prisma's generated client finds its folder through import.meta.url.
    format: "esm",
    packages: "external",
    tsconfig: path.join(projectRoot, "tsconfig.json"),
    logLevel: "warning",
    // Readable stack traces in the logs: each module keeps its name and its code as written.
    minify: false,
    legalComments: "none",
  });
  return outfile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  buildWorkerBundle(process.argv[2] ? path.resolve(process.argv[2]) : undefined)
    .then((outfile) => console.log(`worker bundle: ${path.relative(process.cwd(), outfile)}`))
    .catch((error) => {
      console.error(`worker bundle failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
}
