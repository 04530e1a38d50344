/**
 * Compatibility re-exports for consumers not yet moved to the platform contract: the envelope lives in
 * workers/platform/envelope.ts and the task schemas in workers/platform/tasks.ts. New code imports those directly.
 */
export { backoffSeconds, envelopeSchema } from "../workers/platform/envelope";
export type { Envelope } from "../workers/platform/envelope";
export { emailTaskSchema, inventoryAvailabilitySchema, inventoryMovementSchema, searchIndexTaskSchema } from "../workers/platform/tasks";
export type { EmailTask } from "../workers/platform/tasks";
