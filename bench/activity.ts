// Klaviyo email event -> Kommo note at the default KLAVIYO_ACTIVITY_POLL_SECONDS: Opened Email
// events are recorded in the Klaviyo simulator for synced contacts, spread over a little more than
// one poll interval (so they land at every point of the accounts' poll cycles), and the time until
// each one's note is in Kommo is measured. The pane's own live read is not involved: only polls.
import type { Simulators } from "./harness/simulators";
import type { Target } from "./changes";
import { distribution, type Distribution } from "./load";

export type ActivityResult = { events: number; noted: number; latency: Distribution; timeoutMs: number };

export async function activityPhase(sims: Simulators, targets: Target[], options: { events: number; spreadMs: number; timeoutMs: number }): Promise<ActivityResult> {
  const sent: { target: Target; subject: string; at: number }[] = [];
  const noted = new Map<string, number>();
  const gap = options.spreadMs / Math.max(1, options.events - 1);
  const started = Date.now();
  let seeding = true;
  // Notes are looked for while events are still being recorded, so that each latency is its own.
  const watch = (async () => {
    const deadline = started + options.spreadMs + options.timeoutMs;
    while ((seeding || noted.size < sent.length) && Date.now() < deadline) {
      for (const event of sent) {
        if (noted.has(event.subject)) continue;
        const note = sims.kommo
          .account(event.target.tenant.kommoAccountId)
          .notes.find((candidate) => candidate.entity_id === event.target.deal.leadId && String(candidate.params.text).includes(`"${event.subject}"`));
        if (note) noted.set(event.subject, Date.now() - event.at);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  for (let index = 0; index < options.events; index++) {
    const target = targets[(index * 7919) % targets.length]!;
    const subject = `Bench proposal ${index} ${started}`;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + index * gap - Date.now())));
    target.tenant.klaviyo.store.seedEvent({ metric: "Opened Email", email: target.deal.email, properties: { Subject: subject } });
    sent.push({ target, subject, at: Date.now() });
  }
  seeding = false;
  await watch;
  return { events: sent.length, noted: noted.size, latency: distribution([...noted.values()]), timeoutMs: options.timeoutMs };
}
