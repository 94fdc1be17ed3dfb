// AssemblyTrigger of the local mode: runs the very definition the CDK stack deploys
// (assemblyDefinition, with placeholder ARNs) in-process with aws-local-stepfunctions, each Task
// state overridden by the same step code the Lambdas run. Executions run in the background;
// start() resolves once one is accepted, and idle() lets tests and the CLI wait for them.
import type { StateMachine as AslStateMachine, StateMachineDefinition } from 'aws-local-stepfunctions';
import type { AssemblyTrigger } from '../../core/ports';
import { logger } from '../../shared/logger';
import {
  ASSEMBLY_STEPS,
  type AslDefinition,
  assemblyDefinition,
  localAssemblyResources,
  type StepName,
} from '../../shared/workflow';

export type AssemblyStep = (input: unknown) => Promise<unknown>;
export type AssemblySteps = Record<StepName, AssemblyStep>;

export interface LocalAssemblyOptions {
  /** Milliseconds between retries instead of the definition's backoff (tests; the CLI keeps the real one). */
  retryIntervalMs?: number;
}

export type ExecutionStatus = 'running' | 'succeeded' | 'failed';

export interface LocalExecution {
  name: string;
  run_id: number;
  status: ExecutionStatus;
  started_at: Date;
  stopped_at: Date | null;
  output: unknown;
  error: string | null;
  /** the largest state input or output of the execution, in bytes of JSON (the 256 KB limit) */
  max_payload_bytes: number;
}

type Interpreter = typeof import('aws-local-stepfunctions');
let interpreter: Interpreter | undefined;

function loadInterpreter(): Interpreter {
  if (!interpreter) {
    // aws-local-stepfunctions 3 declares Node >= 22 and calls Promise.withResolvers; Node 20 lacks it.
    const P = Promise as unknown as { withResolvers?: () => unknown };
    P.withResolvers ??= <T>() => {
      let resolve!: (v: T | PromiseLike<T>) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    };
    // Loaded on first use, after the polyfill: a static import would run before it.
    interpreter = require('aws-local-stepfunctions') as Interpreter;
  }
  return interpreter;
}

const jsonBytes = (v: unknown): number => (v === undefined ? 0 : Buffer.byteLength(JSON.stringify(v) ?? ''));

export class LocalAssembly implements AssemblyTrigger {
  /** The definition this runner executes: the CDK stack's, with placeholder ARNs. */
  readonly definition: AslDefinition = assemblyDefinition(localAssemblyResources());
  private readonly machine: AslStateMachine;
  private readonly executions = new Map<string, LocalExecution>();
  private readonly running = new Set<Promise<void>>();
  private resolvedSteps: AssemblySteps | undefined;

  /**
   * `steps` may be a function: the local wiring builds its Deps with this trigger inside, so the
   * step handlers (which need those Deps) are resolved at the first start.
   */
  constructor(
    private readonly steps: AssemblySteps | (() => AssemblySteps),
    private readonly opts: LocalAssemblyOptions = {},
  ) {
    const { StateMachine } = loadInterpreter();
    // Not validated here: the definition is fixed code, and test/assembly/workflow.test.ts runs the
    // interpreter's own validator over it. Validating costs 0.4-0.9 s of CPU per construction,
    // paid by every local stack start (npm start, each test). A copy, because the interpreter
    // writes defaults (QueryLanguage) into the object it is given.
    this.machine = new StateMachine(structuredClone(this.definition) as unknown as StateMachineDefinition, {
      validationOptions: { noValidate: true },
    });
  }

  async start(runId: number, executionName: string): Promise<'started' | 'already_started'> {
    if (this.executions.has(executionName)) return 'already_started';
    const exec: LocalExecution = {
      name: executionName,
      run_id: runId,
      status: 'running',
      started_at: new Date(),
      stopped_at: null,
      output: null,
      error: null,
      max_payload_bytes: 0,
    };
    this.executions.set(executionName, exec);
    const note = (bytes: number): void => {
      exec.max_payload_bytes = Math.max(exec.max_payload_bytes, bytes);
    };
    const steps = this.stepHandlers();
    const handlers = Object.fromEntries(
      ASSEMBLY_STEPS.map((step) => [
        step,
        async (input: unknown) => {
          note(jsonBytes(input));
          const output = await steps[step](input);
          note(jsonBytes(output));
          return output;
        },
      ]),
    );
    const retryIntervalOverrides =
      this.opts.retryIntervalMs === undefined
        ? undefined
        : Object.fromEntries(ASSEMBLY_STEPS.map((s) => [s, this.opts.retryIntervalMs as number]));
    const input = { run_id: runId };
    note(jsonBytes(input));
    const execution = this.machine.run(input, {
      overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides },
    });
    const events = (async () => {
      // Every state's input and output, not just the Task handlers' (Catch merges the error in).
      for await (const e of execution.eventLogs) {
        if ('state' in e && e.state) note(Math.max(jsonBytes(e.state.input), jsonBytes(e.state.output)));
        // What the Step Functions console would show: a retried or caught step, and why.
        if (e.type === 'StateFailed' || e.type === 'StateRetried' || e.type === 'StateCaught') {
          logger.warn(`local assembly: ${e.type} ${e.state.name}`, {
            execution: executionName,
            error: 'Error' in e ? e.Error : undefined,
            cause: 'Cause' in e ? String(e.Cause).slice(0, 500) : undefined,
          });
        }
      }
    })();
    const done = execution.result
      .then(
        (output) => {
          exec.status = 'succeeded';
          exec.output = output;
          logger.info('local assembly succeeded', { execution: executionName, runId });
        },
        (err: unknown) => {
          exec.status = 'failed';
          exec.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
          // Expected when MarkFailed ran (the run is assembly_failed); anything else is a bug.
          logger.warn('local assembly execution failed', {
            execution: executionName,
            runId,
            error: exec.error,
          });
        },
      )
      .then(() => events.catch(() => undefined))
      .finally(() => {
        exec.stopped_at = new Date();
        this.running.delete(done);
      });
    this.running.add(done);
    return 'started';
  }

  /** Resolves when no execution is running (including ones started while waiting). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  execution(name: string): LocalExecution | undefined {
    return this.executions.get(name);
  }

  list(): LocalExecution[] {
    return [...this.executions.values()];
  }

  private stepHandlers(): AssemblySteps {
    this.resolvedSteps ??= typeof this.steps === 'function' ? this.steps() : this.steps;
    return this.resolvedSteps;
  }
}
