// Domain errors. The core never mentions status codes: lambdas/shared/http.ts maps each class to
// one (400, 401, 404, 409, 413, 503) and its `code` to the JSON body. Names are literal so they survive
// minification and Step Functions can match on them (Retry/Catch `ErrorEquals`).
import type { ErrorCode } from '../shared/contract';

export class AppError extends Error {
  readonly code: ErrorCode = 'internal';
}

export class InvalidInputError extends AppError {
  override name = 'InvalidInputError';
  override readonly code = 'invalid_request' as const;
  constructor(readonly issues: string[]) {
    super(issues.join('; '));
  }
}
export class UnauthorizedError extends AppError {
  override name = 'UnauthorizedError';
  override readonly code = 'unauthorized' as const;
}
export class NotFoundError extends AppError {
  override name = 'NotFoundError';
  override readonly code = 'not_found' as const;
}
export class PayloadTooLargeError extends AppError {
  override name = 'PayloadTooLargeError';
  override readonly code = 'payload_too_large' as const;
}
/** 409s: the request is well formed but conflicts with the current state. */
export class ConflictError extends AppError {
  override name = 'ConflictError';
  constructor(
    override readonly code:
      | 'run_in_progress'
      | 'not_your_task'
      | 'task_finished'
      | 'result_not_uploaded'
      | 'stale_attempt',
    message: string,
  ) {
    super(message);
  }
}
/** A conditional write lost a race; callers re-read and decide. Never reaches a client as such. */
export class StaleStateError extends AppError {
  override name = 'StaleStateError';
}
/**
 * A dependency (DynamoDB, S3, Step Functions) failed in a way worth retrying. A route answers it
 * 503 `unavailable`; the assembly workflow retries it.
 */
export class TransientError extends AppError {
  override name = 'TransientError';
  override readonly code = 'unavailable' as const;
}
/** Assembly could not finish; the message says why, and the run ends `assembly_failed`. */
export class AssemblyError extends AppError {
  override name = 'AssemblyError';
}
