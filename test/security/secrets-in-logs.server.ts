// The local stack in its own process, for secrets-in-logs.test.ts. Its parent starts it with
// POWERTOOLS_LOG_LEVEL=DEBUG in the environment, so the one Powertools logger is made at DEBUG, and
// the level that the task steps' injectLambdaContext restores on every call is DEBUG too. Its stdout
// and stderr are pipes the test reads: everything the API handlers, the assembly steps, the reaper
// and the local server log goes there, and so does the output of the stand-ins' process, which
// inherits them (lambdas/adapters/local/services.ts). The keys come over IPC, not the environment,
// so they are not handed down to the stand-ins.
//
// IPC: {type: 'start', id, operatorKey, runnerKey} answers {id, apiUrl}; {type: 'reap' | 'stopS3' |
// 'startS3', id} answers {id}; {type: 'stop', id} answers {id, level, signed} (the logger's level
// after the run, and every presigned URL the API handed out) and the process ends.
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { startLocalStack } from '../../lambdas/adapters/local/stack';
import { logger } from '../../lambdas/shared/logger';

export type ServerRequest =
  | { type: 'start'; id: number; operatorKey: string; runnerKey: string }
  | { type: 'reap' | 'stopS3' | 'startS3' | 'stop'; id: number };

export interface ServerAnswer {
  id: number;
  error?: string;
  apiUrl?: string;
  level?: string;
  signed?: string[];
}

let stack: LocalStack | undefined;
const signed: string[] = [];

/** Notes every presigned URL the stack mints, so the test knows every signature that exists. */
function recordPresignedUrls(s: LocalStack): void {
  const results = s.deps.results;
  const put = results.presignPut.bind(results);
  const get = results.presignGet.bind(results);
  results.presignPut = async (key, ttl) => {
    const url = await put(key, ttl);
    signed.push(url);
    return url;
  };
  results.presignGet = async (key, ttl) => {
    const url = await get(key, ttl);
    signed.push(url);
    return url;
  };
}

async function answer(req: ServerRequest): Promise<Omit<ServerAnswer, 'id'>> {
  switch (req.type) {
    case 'start':
      stack = await startLocalStack({
        operatorKey: req.operatorKey,
        runnerKey: req.runnerKey,
        heartbeatTimeoutS: 1,
        reaperIntervalS: 3600, // reaper passes only when the test asks (reap)
        waitRetrySeconds: 1,
      });
      recordPresignedUrls(stack);
      return { apiUrl: stack.apiUrl };
    case 'reap':
      await stack?.reapNow();
      return {};
    case 'stopS3':
      await stack?.services.stopS3();
      return {};
    case 'startS3':
      await stack?.services.startS3();
      return {};
    case 'stop': {
      const running = stack;
      stack = undefined;
      await running?.stop();
      return { level: logger.getLevelName(), signed };
    }
  }
}

process.on('message', (req: ServerRequest) => {
  answer(req).then(
    (out) => {
      process.send?.({ id: req.id, ...out } satisfies ServerAnswer);
      if (req.type === 'stop') process.disconnect();
    },
    (err: unknown) => process.send?.({ id: req.id, error: String((err as Error)?.stack ?? err) }),
  );
});
// no parent, no reason to live (and the stand-ins go with it: they end on a lost IPC channel)
process.on('disconnect', () => {
  if (!stack) process.exit(0);
  void stack.stop().finally(() => process.exit(0));
});
