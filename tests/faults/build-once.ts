// Vitest global setup of the fault suite: the production build it runs against (made when missing,
// e.g. in a fresh clone; `npm test` leaves one behind).
import { ensureBuild } from "../../bench/harness/build";

export default async function setup() {
  await ensureBuild((line) => console.log(`fault suite: ${line}`));
}
