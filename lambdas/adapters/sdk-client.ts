// What every adapter does once to the SDK client it is given.
import { type AnyClient, reportUnavailable } from './unavailable';

/**
 * - An unavailable service becomes a TransientError (unavailable.ts).
 * - The SDK's logger middleware goes: Benchfleet gives the SDK no logger, and that middleware still
 *   copies and filters every input and output for the no-op one. Without it, an UpdateItem of a
 *   task-sized item costs about a third less CPU (0.9 against 1.3 ms, warm, on the 2-core VM).
 */
export function adaptClient<C extends AnyClient>(client: C): C {
  reportUnavailable(client);
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}
