// Fault injection: make chosen calls fail the way Klaviyo (or the network in front of it) can.

export type Fault =
  /** An error answer in Klaviyo's JSON shape (429 carries Retry-After). */
  | { kind: "status"; status: number; retryAfterSeconds?: number }
  /** A Cloudflare challenge page: 403 with an HTML body. */
  | { kind: "html403" }
  /** A 200 whose body is not JSON (a proxy's page in front of Klaviyo): the answer cannot be read. */
  | { kind: "html200" }
  /** Answer normally, but only after a delay. */
  | { kind: "slow"; delayMs: number }
  /** Drop the connection without an answer. */
  | { kind: "reset" }
  /** A 200 whose body is not the JSON:API document the operation answers with (a proxy's page, a changed API). */
  | { kind: "garbled" };

export type FaultOptions = {
  /** Only calls of this operation (Klaviyo operationId). */
  operation?: string;
  /** Process the request, then answer with the fault (the change happened; the caller cannot know). */
  afterApply?: boolean;
};

type Rule = FaultOptions & { fault: Fault; remaining: number; probability: number; random: () => number };

/** Deterministic pseudo-random numbers so that a failing run can be repeated. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Faults {
  private rules: Rule[] = [];

  /** The next `count` matching calls get `fault`. */
  failNext(count: number, fault: Fault, options: FaultOptions = {}): void {
    this.rules.push({ ...options, fault, remaining: count, probability: 1, random: Math.random });
  }

  /** Each matching call gets `fault` with this probability (seeded, so runs repeat). */
  failFraction(probability: number, fault: Fault, options: FaultOptions & { seed?: number } = {}): void {
    this.rules.push({ ...options, fault, remaining: Number.POSITIVE_INFINITY, probability, random: mulberry32(options.seed ?? 1) });
  }

  clear(): void {
    this.rules = [];
  }

  /** The fault for this call, if any rule picks it (first matching rule wins). */
  pick(operation: string): (Fault & { afterApply: boolean }) | null {
    for (const rule of this.rules) {
      if (rule.remaining <= 0 || (rule.operation && rule.operation !== operation)) continue;
      if (rule.probability < 1 && rule.random() >= rule.probability) continue;
      rule.remaining--;
      return { ...rule.fault, afterApply: rule.afterApply ?? false };
    }
    return null;
  }
}
