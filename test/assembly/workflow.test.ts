// The shared definition run by aws-local-stepfunctions through LocalAssembly: paths through the
// machine (retries, catch, duplicate names) with steps that record what they were given.
import { type AssemblySteps, LocalAssembly } from '../../lambdas/adapters/local/local-assembly';
import { AssemblyError, TransientError } from '../../lambdas/core/errors';
import { localContext, taskStep } from '../../lambdas/shared/task';
import {
  ASSEMBLY_STEPS,
  type AslTaskState,
  assemblyDefinition,
  BuildArchiveInput,
  FinalizeInput,
  failureReason,
  ListTasksInput,
  localAssemblyResources,
  MarkFailedInput,
  type StepName,
} from '../../lambdas/shared/workflow';

type Calls = Array<{ step: StepName; input: unknown }>;

/** Steps that answer like the real ones, through the real taskStep chain; `build` may be replaced. */
function recordingSteps(calls: Calls, build?: () => Promise<unknown>): AssemblySteps {
  const chain = <S extends Parameters<typeof taskStep>[0]>(
    step: StepName,
    schema: S,
    fn: (i: never) => Promise<unknown>,
  ) => {
    const handler = taskStep(schema, fn as (i: unknown) => Promise<unknown>);
    return async (input: unknown) => {
      calls.push({ step, input });
      return handler(input, localContext(step, 60));
    };
  };
  return {
    ListTasks: chain('ListTasks', ListTasksInput, async (i: ListTasksInput) => ({
      run_id: i.run_id,
      listing_key: `runs/${i.run_id}/assembly/tasks.jsonl`,
      task_count: 3,
    })),
    BuildArchive: chain(
      'BuildArchive',
      BuildArchiveInput,
      build ??
        (async (i: BuildArchiveInput) => ({
          run_id: i.run_id,
          archive_key: `runs/${i.run_id}/results.tar.gz`,
          task_count: i.task_count,
          files: 3,
          bytes: 100,
          assembly_errors: 0,
        })),
    ),
    Finalize: chain('Finalize', FinalizeInput, async (i: FinalizeInput) => ({
      run_id: i.run_id,
      status: 'complete',
    })),
    MarkFailed: chain('MarkFailed', MarkFailedInput, async (i: MarkFailedInput) => ({
      run_id: i.run_id,
      status: 'assembly_failed',
      error: i.error,
    })),
  };
}

describe('the assembly definition', () => {
  it('is the one object the CDK stack deploys and the local mode runs', () => {
    const local = new LocalAssembly(recordingSteps([]));
    expect(local.definition).toEqual(assemblyDefinition(localAssemblyResources()));
    // The CDK side differs only in the Lambda ARNs it passes.
    const arns = Object.fromEntries(
      ASSEMBLY_STEPS.map((s) => [s, `arn:aws:lambda:eu-west-1:123456789012:function:bf-${s}`]),
    );
    const cdk = assemblyDefinition(arns as Record<StepName, string>);
    for (const step of ASSEMBLY_STEPS) {
      expect((cdk.States[step] as AslTaskState).Resource).toBe(arns[step]);
      const { Resource: _a, ...cdkRest } = cdk.States[step] as AslTaskState;
      const { Resource: _b, ...localRest } = local.definition.States[step] as AslTaskState;
      expect(cdkRest).toEqual(localRest);
    }
    expect(JSON.parse(JSON.stringify(cdk))).toEqual(cdk); // survives DefinitionBody.fromString
  });

  it("passes the interpreter's definition validator, which LocalAssembly skips at start", () => {
    // the validator aws-local-stepfunctions runs unless told not to, with its own options
    const validate = require('asl-validator') as (
      d: unknown,
      o: { checkArn: boolean; checkPaths: boolean },
    ) => { isValid: boolean; errorsText: (sep?: string) => string };
    const opts = { checkArn: true, checkPaths: true };
    const arns = Object.fromEntries(
      ASSEMBLY_STEPS.map((s) => [s, `arn:aws:lambda:eu-west-1:123456789012:function:bf-${s}`]),
    ) as Record<StepName, string>;
    for (const def of [assemblyDefinition(localAssemblyResources()), assemblyDefinition(arns)]) {
      const verdict = validate(structuredClone(def), opts);
      expect({ valid: verdict.isValid, errors: verdict.errorsText('; ') }).toEqual({
        valid: true,
        errors: '',
      });
    }
    // and it does catch a broken machine: a Catch that leads nowhere
    const broken = structuredClone(assemblyDefinition(localAssemblyResources()));
    (broken.States.Finalize as AslTaskState).Catch = [
      { ErrorEquals: ['States.ALL'], Next: 'Nowhere', ResultPath: '$.error' },
    ];
    expect(validate(broken, opts).isValid).toBe(false);
  });

  it('retries every working step on TransientError with backoff and sends anything left to MarkFailed', () => {
    const def = assemblyDefinition(localAssemblyResources());
    for (const step of ['ListTasks', 'BuildArchive', 'Finalize'] as const) {
      const state = def.States[step] as AslTaskState;
      expect(state.Retry[0]).toMatchObject({
        ErrorEquals: expect.arrayContaining(['TransientError', 'Lambda.ServiceException']),
      });
      expect(state.Retry[0]?.BackoffRate).toBeGreaterThan(1);
      expect(state.Catch).toEqual([
        { ErrorEquals: ['States.ALL'], Next: 'MarkFailed', ResultPath: '$.error' },
      ]);
    }
    expect(def.States.MarkFailed).toMatchObject({ Next: 'AssemblyFailed' });
    expect(def.States.AssemblyFailed).toMatchObject({ Type: 'Fail' });
  });
});

describe('failureReason', () => {
  it("reads the errorMessage out of a Lambda error's JSON Cause, and keeps plain causes", () => {
    const cause = JSON.stringify({
      errorType: 'TransientError',
      errorMessage: 'S3 said 503',
      trace: ['at x'],
    });
    expect(failureReason({ error: 'TransientError', cause })).toBe('TransientError: S3 said 503');
    expect(failureReason({ error: 'States.Timeout', cause: null })).toBe('States.Timeout');
    expect(failureReason({ error: null, cause: 'boom' })).toBe('Error: boom');
    expect(failureReason({ error: 'E', cause: 'x'.repeat(5000) })).toHaveLength(1000);
  });
});

describe('LocalAssembly', () => {
  it('runs ListTasks -> BuildArchive -> Finalize passing only keys and counts', async () => {
    const calls: Calls = [];
    const local = new LocalAssembly(recordingSteps(calls), { retryIntervalMs: 1 });
    await expect(local.start(42, '42')).resolves.toBe('started');
    await local.idle();
    expect(calls.map((c) => c.step)).toEqual(['ListTasks', 'BuildArchive', 'Finalize']);
    expect(calls[1]?.input).toEqual({
      run_id: 42,
      listing_key: 'runs/42/assembly/tasks.jsonl',
      task_count: 3,
    });
    expect(calls[2]?.input).toEqual({ run_id: 42, archive_key: 'runs/42/results.tar.gz' });
    expect(local.execution('42')).toMatchObject({
      status: 'succeeded',
      output: { run_id: 42, status: 'complete' },
    });
  });

  it('answers already_started for an execution name used before, and runs it once', async () => {
    const calls: Calls = [];
    const local = new LocalAssembly(recordingSteps(calls), { retryIntervalMs: 1 });
    const answers = await Promise.all([local.start(7, '7'), local.start(7, '7')]);
    expect(answers.sort()).toEqual(['already_started', 'started']);
    await local.idle();
    await expect(local.start(7, '7')).resolves.toBe('already_started');
    expect(calls.filter((c) => c.step === 'ListTasks')).toHaveLength(1);
    await expect(local.start(7, '7-2')).resolves.toBe('started');
    await local.idle();
    expect(calls.filter((c) => c.step === 'ListTasks')).toHaveLength(2);
  });

  it('retries a step that throws a transient error twice, then goes on', async () => {
    const calls: Calls = [];
    let attempts = 0;
    const flaky = async (): Promise<unknown> => {
      attempts += 1;
      if (attempts <= 2) throw new TransientError(`S3 hiccup ${attempts}`);
      return {
        run_id: 5,
        archive_key: 'runs/5/results.tar.gz',
        task_count: 3,
        files: 3,
        bytes: 1,
        assembly_errors: 0,
      };
    };
    const local = new LocalAssembly(recordingSteps(calls, flaky), { retryIntervalMs: 1 });
    await local.start(5, '5');
    await local.idle();
    expect(calls.map((c) => c.step)).toEqual([
      'ListTasks',
      'BuildArchive',
      'BuildArchive',
      'BuildArchive',
      'Finalize',
    ]);
    expect(local.execution('5')?.status).toBe('succeeded');
  });

  it('marks the run failed with the reason when a step keeps failing, and the execution ends', async () => {
    const calls: Calls = [];
    const broken = async (): Promise<unknown> => {
      throw new AssemblyError('the task listing runs/9/assembly/tasks.jsonl is missing');
    };
    const local = new LocalAssembly(recordingSteps(calls, broken), { retryIntervalMs: 1 });
    await local.start(9, '9');
    await local.idle();
    // AssemblyError is not transient: no retry, straight to MarkFailed.
    expect(calls.map((c) => c.step)).toEqual(['ListTasks', 'BuildArchive', 'MarkFailed']);
    expect(calls[2]?.input).toMatchObject({
      run_id: 9,
      error: { Error: 'AssemblyError', Cause: expect.stringContaining('tasks.jsonl is missing') },
    });
    expect(local.execution('9')).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('assembly_failed'),
    });
  });

  it('gives up on a transient error after the retries and marks the run failed', async () => {
    const calls: Calls = [];
    const down = async (): Promise<unknown> => {
      throw new TransientError('S3 is down');
    };
    const local = new LocalAssembly(recordingSteps(calls, down), { retryIntervalMs: 1 });
    await local.start(11, '11');
    await local.idle();
    const builds = calls.filter((c) => c.step === 'BuildArchive').length;
    expect(builds).toBe(
      1 + ((local.definition.States.BuildArchive as AslTaskState).Retry[0]?.MaxAttempts ?? 0),
    );
    expect(calls.at(-1)).toMatchObject({ step: 'MarkFailed', input: { error: { Error: 'TransientError' } } });
  });

  it('names an invalid state input InvalidInputError and marks the run failed', async () => {
    const calls: Calls = [];
    const steps = recordingSteps(calls);
    const local = new LocalAssembly(
      { ...steps, ListTasks: async () => ({ run_id: 3, listing_key: '', task_count: -1 }) },
      { retryIntervalMs: 1 },
    );
    await local.start(3, '3');
    await local.idle();
    expect(calls.at(-1)).toMatchObject({
      step: 'MarkFailed',
      input: { error: { Error: 'InvalidInputError' } },
    });
  });
});
