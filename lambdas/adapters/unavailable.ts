// One rule for "an AWS service did not answer": no connection, a timeout, a 5xx, throttling, once
// the SDK's own retries are spent. Each adapter's client reports such a failure as a
// TransientError that names the service and the call. The HTTP routes answer it 503 `unavailable`
// (the client should retry; runners do), and the assembly workflow retries it (its Retry matches
// TransientError), instead of a 500 or an assembly_failed run for what a retry would fix.
import type { MiddlewareStack } from '@smithy/types';
import { TransientError } from '../core/errors';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const UNAVAILABLE_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'InternalServerError',
  'InternalFailure',
]);

interface SdkFailure {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * The network error code of a failure: its `code`, or the one its message names (the SDK wraps an
 * error from another realm, a test sandbox for one, in a plain Error that keeps only the message).
 */
function networkCode(e: SdkFailure): string | undefined {
  if (e.code !== undefined && NETWORK_CODES.has(e.code)) return e.code;
  const named = /\b[A-Z][A-Z_]{4,}\b/g;
  for (const m of e.message?.match(named) ?? []) if (NETWORK_CODES.has(m)) return m;
  return undefined;
}

export function isUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || err instanceof TransientError) return false;
  const e = err as SdkFailure;
  const status = e.$metadata?.httpStatusCode;
  return (
    (status !== undefined && (status >= 500 || status === 429)) ||
    networkCode(e) !== undefined ||
    (e.name !== undefined && UNAVAILABLE_NAMES.has(e.name))
  );
}

// biome-ignore lint/suspicious/noExplicitAny: any client's input and output types
export type AnyClient = { middlewareStack: MiddlewareStack<any, any> };

/** Makes `client` throw TransientError for an unavailable service; idempotent per client. */
export function reportUnavailable<C extends AnyClient>(client: C): C {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (!isUnavailable(err)) throw err;
        const e = err as SdkFailure;
        const service = (context.clientName ?? 'AWS').replace(/Client$/, '');
        const call = (context.commandName ?? 'a call').replace(/Command$/, '');
        const named = e.name && e.name !== 'Error' ? e.name : undefined;
        const what = networkCode(e) ?? named ?? `HTTP ${e.$metadata?.httpStatusCode}`;
        throw new TransientError(`${service} did not answer ${call} (${what}: ${e.message ?? ''}); retry`, {
          cause: err,
        });
      }
    },
    { step: 'initialize', name: 'benchfleetReportUnavailable', override: true },
  );
  return client;
}
