// Before the browser suite: the web app must be built (`next start` serves the build). npm test
// builds it once for every suite; a lone `npm run test:browser` builds it here when it is missing.
import { execFileSync } from "node:child_process";
import { projectRoot } from "./environment";
import { buildExists } from "./app";

export default function globalSetup() {
  if (buildExists()) return;
  console.log("== building the web app for the browser tests (npx next build)");
  execFileSync(process.execPath, ["node_modules/next/dist/bin/next", "build"], {
    cwd: projectRoot,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
    stdio: "inherit",
  });
}
