// Where each process's memory peaks: its resident memory sampled four times a second and the
// highest kept per phase of the run. VmHWM (peakRssBytes) says how high a process went, not when.
import { ownRssBytes } from "./process-stats";

type Watched = { name: string; pid: number | undefined };
export type PhaseMemory = { phase: string; peakMb: Record<string, number> };

const SAMPLE_MS = 250;

export class MemoryWatch {
  private processes: Watched[] = [];
  private phase = "start";
  private readonly phases: PhaseMemory[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** Sample these processes from now on (the web server and the workers once they started). */
  watch(processes: Watched[]): void {
    this.processes = processes;
    this.timer ??= setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  /** What the run is doing from now on; samples until the next mark count for it. */
  mark(phase: string): void {
    this.phase = phase;
  }

  private sample(): void {
    let current = this.phases.at(-1);
    if (current?.phase !== this.phase) {
      current = { phase: this.phase, peakMb: {} };
      this.phases.push(current);
    }
    for (const process of this.processes) {
      const bytes = process.pid === undefined ? null : ownRssBytes(process.pid);
      if (bytes === null) continue;
      const mb = Math.round(bytes / (1024 * 1024));
      current.peakMb[process.name] = Math.max(current.peakMb[process.name] ?? 0, mb);
    }
  }

  /** Stop sampling; each phase that was sampled, in order, with each process's highest reading. */
  stop(): PhaseMemory[] {
    clearInterval(this.timer);
    return this.phases.filter((phase) => Object.keys(phase.peakMb).length > 0);
  }
}
