// Each web and worker process runs with a bounded V8 heap. V8 lets a heap grow to up to four times
// what survived the last full collection before it collects again when its limit is large (a few
// GB on a big host), and only about 1.3 times when the limit is small. The app's live data is a few
// tens of MB per process, so under load an unbounded process held 250-450 MB of mostly garbage;
// bounded, it collects sooner and stays far below. An operator's own NODE_OPTIONS heap size wins.

/** The old-generation limit of each process, in MB: several times what a process keeps alive. */
export const PROCESS_HEAP_LIMIT_MB = 256;

/** node's options for one web or worker process, unless NODE_OPTIONS already sizes the heap. */
export function heapLimitNodeArgs(nodeOptions: string | undefined = process.env.NODE_OPTIONS): string[] {
  if (nodeOptions && /--max-old-space-size[=\s]/.test(nodeOptions)) return [];
  return [`--max-old-space-size=${PROCESS_HEAP_LIMIT_MB}`];
}
