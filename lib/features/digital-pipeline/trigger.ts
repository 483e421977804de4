// The sync log's trigger of a Digital Pipeline action, "digital_pipeline:<event name>": read by the
// dashboard and (through widget/src/backend.ts) by the deal-card pane to name the event.
export const DIGITAL_PIPELINE_TRIGGER_PREFIX = "digital_pipeline:";

export const digitalPipelineTrigger = (eventName: string) => `${DIGITAL_PIPELINE_TRIGGER_PREFIX}${eventName}`;
