// The widget's pending timeouts (polling), all cleared when Kommo calls destroy().

export class Timers {
  private pending = new Set<number>();

  later(fn: () => void, ms: number): void {
    const id = window.setTimeout(() => {
      this.pending.delete(id);
      fn();
    }, ms);
    this.pending.add(id);
  }

  clear(): void {
    for (const id of this.pending) window.clearTimeout(id);
    this.pending.clear();
  }
}
