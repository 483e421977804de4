// What the app's processes and the host cost, from Linux's own accounting: peak memory (VmHWM in
// /proc/<pid>/status, the most resident memory the process ever had, so one reading at the end
// covers the whole run), CPU time per process, and how busy the host's cores were.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";

function statusField(pid: number, field: string): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((entry) => entry.startsWith(`${field}:`));
    const kilobytes = line ? Number(/(\d+)\s*kB/.exec(line)?.[1]) : NaN;
    return Number.isFinite(kilobytes) ? kilobytes * 1024 : null;
  } catch {
    return null;
  }
}

function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of existsSync("/proc") ? readdirSync("/proc") : []) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent; the command name (field 2) may contain spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === pid) children.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}

/** Resident memory of the process itself, now (bytes; null off Linux or once it ended). */
export const ownRssBytes = (pid: number): number | null => statusField(pid, "VmRSS");

/** Resident memory of a process and every process it started, now, summed (bytes; null off Linux). */
export function rssBytes(pid: number): number | null {
  const own = statusField(pid, "VmRSS");
  if (own === null) return null;
  return childrenOf(pid).reduce((total, child) => total + (rssBytes(child) ?? 0), own);
}

/** Peak resident memory of a process and every process it started, summed (bytes; null off Linux). */
export function peakRssBytes(pid: number): number | null {
  const own = statusField(pid, "VmHWM");
  if (own === null) return null;
  return childrenOf(pid).reduce((total, child) => total + (peakRssBytes(child) ?? 0), own);
}

export const megabytes = (bytes: number | null) => (bytes === null ? null : Math.round(bytes / (1024 * 1024)));

/** USER_HZ: 100 on every Linux build that Node supports. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time a process has used so far in user and in kernel (system) mode, in seconds; null off Linux. */
export function cpuTimes(pid: number): { user: number; system: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of the whole line (11 and 12 after the command name).
    return { user: Number(fields[11]) / CLOCK_TICKS_PER_SECOND, system: Number(fields[12]) / CLOCK_TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

/** CPU time (user + system) a process has used so far, in seconds; null off Linux. */
export function cpuSeconds(pid: number): number | null {
  const times = cpuTimes(pid);
  return times && times.user + times.system;
}

/** Time the host's CPUs spent so far: busy and total, in ms, summed over every core. */
function hostCpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    busy += times.user + times.nice + times.sys + times.irq;
    total += times.user + times.nice + times.sys + times.irq + times.idle;
  }
  return { busy, total };
}

/** The host's CPU time so far from /proc/stat (ticks, every core): stolen by the hypervisor, and in all; null off Linux. */
function hostTicks(): { stolen: number; total: number } | null {
  try {
    // cpu user nice system idle iowait irq softirq steal (guest time is already in user).
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    if (fields.length < 8 || fields.some((value) => !Number.isFinite(value))) return null;
    return { stolen: fields[7]!, total: fields.reduce((sum, value) => sum + value, 0) };
  } catch {
    return null;
  }
}

/**
 * Start measuring the CPU time the hypervisor gave to other machines while ours wanted it (steal);
 * the returned function gives its share of all CPU time since (0..1), null off Linux. A virtual
 * machine's speed varies with it, and so does every CPU figure of a run.
 */
export function hostStealMeter(): () => number | null {
  const before = hostTicks();
  return () => {
    const after = hostTicks();
    if (!before || !after || after.total === before.total) return null;
    return (after.stolen - before.stolen) / (after.total - before.total);
  };
}

/** Start measuring the host's CPU use; the returned function gives the busy share since (0..1). */
export function hostBusyMeter(): () => number {
  const before = hostCpuTimes();
  return () => {
    const after = hostCpuTimes();
    const total = after.total - before.total;
    return total > 0 ? (after.busy - before.busy) / total : 0;
  };
}
