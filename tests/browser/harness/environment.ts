// Loopback ports and the environment of the app's processes for browser tests: the same helpers
// the vitest suites use.
export { cleanEnvironment as appEnvironment, freePort, projectRoot } from "../../helpers/processes";
