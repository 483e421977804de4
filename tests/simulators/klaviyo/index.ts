export { ALL_SCOPES, KlaviyoSimulator, startKlaviyoSimulator, type KlaviyoSimulatorOptions, type RecordedRequest } from "./server";
export type { Fault, FaultOptions } from "./faults";
export { BUILT_IN_METRICS, SimAccount, type SimEvent, type SimList, type SimMetric, type SimProfile } from "./store";
export { deletionRequests, type DeletionRequest } from "./privacy";
export { systemWebhookDelivery, topicOf, type SystemWebhookDelivery } from "./webhooks";
export { emailMarketing, subscriptionJobs, unsubscribeAsRecipient, type SubscriptionJob } from "./subscriptions";
