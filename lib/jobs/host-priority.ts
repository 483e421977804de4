// Web server and worker on one host (`npm start`): webhooks must be answered first, because Kommo
// waits 2 s and disables a hook that keeps failing, while the worker's backlog can wait a moment.
// A lower scheduling priority gives the web server the CPU whenever both want it and costs the
// worker nothing while the CPU is free. Processes on hosts of their own keep the default.
import os from "node:os";

/** Niceness of a worker that shares its host with the web server (0 is the default, 19 the lowest). */
export const COLOCATED_WORKER_NICENESS = 10;

export function yieldToWebServer(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    os.setPriority(pid, COLOCATED_WORKER_NICENESS);
  } catch {
    // Lowering a priority is always allowed; a process that already exited has none to lower.
  }
}
