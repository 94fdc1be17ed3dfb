// The one middy chain of Step Functions tasks. Unlike HTTP routes nothing is mapped to a status
// code: errors propagate with their class name, which is what Retry/Catch `ErrorEquals` match.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddyfiedHandler } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { InvalidInputError } from '../core/errors';
import { logger } from './logger';

export type TaskStepHandler<I, O> = MiddyfiedHandler<I, O, Error, Context>;

export function taskStep<S extends z.ZodType, O>(
  schema: S,
  run: (input: z.infer<S>) => Promise<O>,
): TaskStepHandler<unknown, O> {
  return middy<unknown, O, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event) => {
      const parsed = schema.safeParse(event);
      // A malformed state input is a definition bug: name it, and let Catch mark the run failed.
      if (!parsed.success) {
        throw new InvalidInputError(
          parsed.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`),
        );
      }
      return run(parsed.data);
    });
}

/** A Lambda context for running a step in-process (local mode, tests). */
export function localContext(functionName: string, timeoutSeconds: number): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: `local-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
