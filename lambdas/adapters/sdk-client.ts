// What every adapter does once to the SDK client it is given.
import { type AnyClient, reportUnavailable } from './unavailable';

/**
 * - An unavailable service becomes a TransientError (unavailable.ts).
 * - The SDK's logger middleware goes: Benchfleet gives the SDK no logger, and that middleware still
 *   copies and filters every input and output for the no-op one (about a tenth of the local API's
 *   CPU in the e2e bench, and the same share of each Lambda's SDK time).
 */
export function adaptClient<C extends AnyClient>(client: C): C {
  reportUnavailable(client);
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}
