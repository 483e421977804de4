// What the rest of the product uses from the Kommo connection.
export { kommoClientFor } from "./account-client";
export { KommoClient, MAX_PAGE_SIZE, type LeadWith, type LeadWithParties, type ListLeadsParams, type NewLeadNote, type NoteType } from "./client";
export type {
  Collection,
  KommoAccount,
  KommoCompany,
  KommoContact,
  KommoCustomFieldValue,
  KommoLead,
  KommoPipeline,
  KommoStatus,
  KommoUser,
  KommoWebhook,
} from "./api-schemas";
export {
  KommoAccountUnavailableError,
  KommoApiError,
  KommoBlockedError,
  KommoError,
  KommoNetworkError,
  KommoRateLimitedError,
  KommoResponseError,
  isKommoError,
} from "./errors";
export { contactEmails, contactPhones, mainContactId, LOST_STATUS_ID, WON_STATUS_ID } from "./fields";
