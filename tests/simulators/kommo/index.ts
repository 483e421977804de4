// Simulated Kommo for tests (loopback only). See server.ts.
export { KommoSimulator, type KommoSimulatorOptions, type RecordedRequest } from "./server";
export {
  encodeKommoForm,
  fireWebhook,
  leadDelivery,
  contactUpdateDelivery,
  digitalPipelineHook,
  encodeDigitalPipelineHook,
  DP_TYPE_CODES,
  type DigitalPipelineHookOptions,
  type WebhookTarget,
} from "./webhooks";
export { WON, LOST, EMAIL_FIELD_ID, PHONE_FIELD_ID } from "./store";
export { CODE_LIFETIME_SECONDS, ACCESS_TOKEN_LIFETIME_SECONDS } from "./oauth";
export { MAX_LIMIT } from "./api";
export { addKommoUser, type KommoLogin } from "./consent";
export { deleteContact, deleteLead, eventsOf, MAX_EVENTS_LIMIT, type SimKommoEvent } from "./events";
