// The account's sync settings (the widget settings body, SPEC §4) as zod schemas: what is stored,
// and the PUT body in which every field is optional (an omitted field keeps its value).
import { z } from "zod";
import { kommoIdSchema } from "@/lib/integrations/kommo/ids";

export const DEFAULT_EVENT_NAMES = {
  dealCreated: "Deal Created",
  stageChanged: "Stage Changed",
  dealWon: "Deal Won",
  dealLost: "Deal Lost",
} as const;

/** A Klaviyo metric name (fewer than 128 characters), or null to switch the event off. */
const eventName = z
  .string()
  .trim()
  .min(1, "an event name cannot be empty (use null to switch the event off)")
  .max(127, "Klaviyo metric names must be shorter than 128 characters")
  .nullable();

/** Klaviyo list ids are short alphanumeric strings (e.g. "Y6nRLr"). */
export const klaviyoListId = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9]{1,64}$/, "must be a Klaviyo list id such as Y6nRLr");


export const stageListSchema = z.object({ pipelineId: kommoIdSchema, statusId: kommoIdSchema, listId: klaviyoListId });

const stageLists = z
  .array(stageListSchema)
  .max(1000)
  .superRefine((entries, context) => {
    const seen = new Set<string>();
    entries.forEach((entry, index) => {
      const key = `${entry.pipelineId}:${entry.statusId}`;
      if (seen.has(key)) {
        context.addIssue({
          code: "custom",
          path: [index],
          message: `stage ${entry.statusId} of pipeline ${entry.pipelineId} is mapped twice; keep one list per stage`,
        });
      }
      seen.add(key);
    });
  });

/** Event (metric) names; a name left out takes its default. */
export const eventNamesSchema = z.object({
  dealCreated: eventName.default(DEFAULT_EVENT_NAMES.dealCreated),
  stageChanged: eventName.default(DEFAULT_EVENT_NAMES.stageChanged),
  dealWon: eventName.default(DEFAULT_EVENT_NAMES.dealWon),
  dealLost: eventName.default(DEFAULT_EVENT_NAMES.dealLost),
});

const eventNamesUpdateSchema = z.strictObject({
  dealCreated: eventName.optional(),
  stageChanged: eventName.optional(),
  dealWon: eventName.optional(),
  dealLost: eventName.optional(),
});

/**
 * Consent both ways (off by default): the contact field "Klaviyo email status" kept current, and a
 * contact checkbox whose off -> on subscribes the email (with the list's opt-in process).
 */
export const consentSettingsSchema = z.object({
  statusField: z.boolean().default(false),
  optInFieldId: kommoIdSchema.nullable().default(null),
  optInListId: klaviyoListId.nullable().default(null),
});
export type ConsentSettings = z.infer<typeof consentSettingsSchema>;

const consentUpdateSchema = z.strictObject({
  statusField: z.boolean().optional(),
  optInFieldId: kommoIdSchema.nullable().optional(),
  optInListId: klaviyoListId.nullable().optional(),
});

/** Settings as stored on the account; missing fields take the defaults. */
export const syncSettingsSchema = z.object({
  stageLists: stageLists.default([]),
  allDealsListId: klaviyoListId.nullable().default(null),
  /** Lists mirror the deal's current stage: leaving a stage leaves its list. */
  removeFromPreviousList: z.boolean().default(true),
  events: eventNamesSchema.default({ ...DEFAULT_EVENT_NAMES }),
  activityNotes: z.boolean().default(true),
  /**
   * A contact deleted in Kommo asks Klaviyo to delete the person's profile too (a data-privacy
   * deletion, irreversible). Off by default: deleting a CRM record is not always an erasure request.
   */
  deleteProfileOnContactDelete: z.boolean().default(false),
  consent: consentSettingsSchema.default({ statusField: false, optInFieldId: null, optInListId: null }),
});

export type SyncSettings = z.infer<typeof syncSettingsSchema>;
export type StageList = z.infer<typeof stageListSchema>;
export type EventNames = z.infer<typeof eventNamesSchema>;

export const DEFAULT_SETTINGS: SyncSettings = syncSettingsSchema.parse({});

/** Private keys start with pk_; a 6-character public key (site id) cannot call /api endpoints. */
export const KLAVIYO_API_KEY_PATTERN = /^pk_[A-Za-z0-9_-]{10,200}$/;

export const klaviyoApiKeySchema = z
  .string()
  .trim()
  .regex(KLAVIYO_API_KEY_PATTERN, "must be a Klaviyo private API key (it starts with pk_)");

/** The body of PUT /api/widget/settings: every field optional, unknown fields rejected. */
export const settingsUpdateSchema = z.strictObject({
  klaviyoApiKey: klaviyoApiKeySchema.optional(),
  stageLists: stageLists.optional(),
  allDealsListId: klaviyoListId.nullable().optional(),
  removeFromPreviousList: z.boolean().optional(),
  events: eventNamesUpdateSchema.optional(),
  activityNotes: z.boolean().optional(),
  deleteProfileOnContactDelete: z.boolean().optional(),
  consent: consentUpdateSchema.optional(),
});

export type SettingsUpdate = z.infer<typeof settingsUpdateSchema>;

/** Stored settings with an update applied (the key is not part of them: it is stored encrypted apart). */
export function applySettingsUpdate(current: SyncSettings, update: SettingsUpdate): SyncSettings {
  return syncSettingsSchema.parse({
    stageLists: update.stageLists ?? current.stageLists,
    allDealsListId: update.allDealsListId !== undefined ? update.allDealsListId : current.allDealsListId,
    removeFromPreviousList: update.removeFromPreviousList ?? current.removeFromPreviousList,
    events: { ...current.events, ...update.events },
    activityNotes: update.activityNotes ?? current.activityNotes,
    deleteProfileOnContactDelete: update.deleteProfileOnContactDelete ?? current.deleteProfileOnContactDelete,
    consent: { ...current.consent, ...update.consent },
  });
}

/** Read settings stored as JSON (Account.settings); anything malformed falls back field by field to the default. */
export function readStoredSettings(json: unknown): SyncSettings {
  const parsed = syncSettingsSchema.safeParse(json ?? {});
  if (parsed.success) return parsed.data;
  const source = typeof json === "object" && json !== null ? (json as Record<string, unknown>) : {};
  const settings: SyncSettings = { ...DEFAULT_SETTINGS, events: { ...DEFAULT_SETTINGS.events }, consent: { ...DEFAULT_SETTINGS.consent } };
  for (const key of Object.keys(syncSettingsSchema.shape) as (keyof SyncSettings)[]) {
    const field = syncSettingsSchema.shape[key].safeParse(source[key]);
    if (field.success) (settings as Record<string, unknown>)[key] = field.data;
  }
  return settings;
}
