// Klaviyo's data-privacy deletion (`POST /api/data-privacy-deletion-jobs`, operationId
// request_profile_deletion, spec 2026-07-15): one identifier (`id`, `email` or `phone_number`;
// more than one is an error), 202 with no body, the deletion itself done asynchronously: every
// matching profile disappears with its list memberships and events.
import { z } from "zod";
import type { SimOperation } from "./operations";
import { invalid } from "./responses";
import type { SimAccount, SimProfile } from "./store";

const deletionJobQuery = z.strictObject({
  data: z.strictObject({
    type: z.literal("data-privacy-deletion-job"),
    attributes: z.strictObject({
      profile: z.strictObject({
        data: z.strictObject({
          type: z.literal("profile"),
          id: z.string().nullable().optional(),
          attributes: z.strictObject({ email: z.string().nullable().optional(), phone_number: z.string().nullable().optional() }),
        }),
      }),
    }),
  }),
});
type DeletionJobBody = z.infer<typeof deletionJobQuery>;

export type DeletionRequest = { id?: string; email?: string; phone_number?: string; at: number };

const requests = new WeakMap<SimAccount, DeletionRequest[]>();

/** Deletion requests the account received, in order (for assertions). */
export function deletionRequests(account: SimAccount): DeletionRequest[] {
  let list = requests.get(account);
  if (!list) requests.set(account, (list = []));
  return list;
}

function matching(account: SimAccount, request: DeletionRequest): SimProfile[] {
  return [...account.profiles.values()].filter(
    (profile) =>
      (request.id !== undefined && profile.id === request.id) ||
      (request.email !== undefined && profile.email?.toLowerCase() === request.email.toLowerCase()) ||
      (request.phone_number !== undefined && profile.phone_number === request.phone_number),
  );
}

function erase(account: SimAccount, profile: SimProfile): void {
  account.profiles.delete(profile.id);
  for (const list of account.lists.values()) list.members.delete(profile.id);
  for (let index = account.events.length - 1; index >= 0; index--) if (account.events[index]!.profileId === profile.id) account.events.splice(index, 1);
}

export const requestProfileDeletion: SimOperation = {
  id: "request_profile_deletion",
  method: "POST",
  path: "/api/data-privacy-deletion-jobs",
  scopes: ["data-privacy:write"],
  burstPerSecond: 3,
  steadyPerMinute: 60,
  query: {},
  body: deletionJobQuery,
  maxBodyBytes: 100 * 1024,
  handle(context) {
    const { data } = (context.body as DeletionJobBody).data.attributes.profile;
    const request: DeletionRequest = {
      ...(data.id ? { id: data.id } : {}),
      ...(data.attributes.email ? { email: data.attributes.email } : {}),
      ...(data.attributes.phone_number ? { phone_number: data.attributes.phone_number } : {}),
      at: Date.now(),
    };
    const identifiers = Object.keys(request).filter((key) => key !== "at");
    if (identifiers.length !== 1) {
      throw invalid("Exactly one of id, email or phone_number must be provided.", { pointer: "/data/attributes/profile/data" });
    }
    deletionRequests(context.account).push(request);
    context.later(() => {
      for (const profile of matching(context.account, request)) erase(context.account, profile);
    }, 1);
    return { status: 202 };
  },
};
