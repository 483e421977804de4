export { KlaviyoClient, LIMITS, type KlaviyoClientOptions } from "./client";
export {
  KlaviyoDuplicateProfileError,
  KlaviyoError,
  KlaviyoInvalidInputError,
  KlaviyoRateLimitError,
  KlaviyoScopeError,
  keyHint,
  type KlaviyoErrorKind,
  type KlaviyoErrorObject,
} from "./errors";
export { OPERATIONS, bucketKey, bucketLimits, type KlaviyoOperation, type KlaviyoScope, type OperationName } from "./operations";
export { sharedRateLimiter, type RateLimiter } from "./transport";
export type * from "./types";
