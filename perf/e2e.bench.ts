// `npm run perf -- e2e`: a local run of 200 tasks with a zero-length workload (synthetic, size 0)
// and 8 in-process runner slots, timed from the runner's side by wrapping fetch:
// - overhead per task = (claim answer -> complete answer) minus workload, where workload is the
//   runner's "running task N" log line -> its "uploading result.tar.gz" line, just before the PUT;
// - claim gap = a slot's complete answer -> the same slot's next assigned claim answer.
// It also counts what the cost bench prices: API calls by route (with their mean latency, the
// Lambda duration estimate), DynamoDB calls and consumed capacity (SDK middleware sets
// ReturnConsumedCapacity=TOTAL, so dynalite reports the units from the real item sizes), S3
// requests (server-side middleware plus the runners' presigned PUTs and the archive GET), and
// Step Functions state transitions (one per step invocation of the local interpreter). Two extra
// phases measure the marginal cost of one reaper pass and of one heartbeat, which the example
// run of the cost bench has 60 and 120 per task of.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startLocalStack } from '../lambdas/adapters/local/stack';
import { matchRoute, routeKey } from '../lambdas/shared/routes';
import { createRunner } from '../runner/agent';
import { countedAssembly, countSdk, emptyUsage, perCall, type Usage } from './e2e-usage';

export const E2E_TASKS = 200;
export const E2E_SLOTS = 8;
/**
 * A second, smaller run with one slot per runner: the overhead when a task queues less for the
 * CPU (8 slots keep a 2-core machine busy: see cpu_ms_per_task and cores_busy).
 */
const FEW_SLOTS = { tasks: 50, slots: 2 };

export interface E2eResult {
  tasks: number;
  slots: number;
  /** start answer to the archive downloaded */
  wall_s: number;
  /** start answer to the last complete answer: the phase cpu_ms covers */
  tasks_s: number;
  overhead_ms: number[];
  /** overhead_ms in its three parts, per task (see `parts` in measure) */
  overhead_parts_ms: { setup: number[]; upload: number[]; complete: number[] };
  claim_gap_ms: number[];
  run: Usage;
  /** one reaper pass over the run's active tasks; duration_ms is the pass's own time */
  reaper_pass: Usage & { duration_ms: number };
  /** one heartbeat of a running task */
  heartbeat: Usage;
  stored_bytes: number;
  schedule_enabled_after_run: boolean;
  /**
   * CPU spent over the task phase, in ms: this process (the local API and the runner slots) and
   * the DynamoDB/S3 stand-ins' process (null where /proc cannot tell: not Linux).
   */
  cpu_ms: { api_and_runners: number; stand_ins: number | null };
}

/** CPU time (user + system) of another process, in ms, from /proc; undefined off Linux. */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // the fields after the command name, from the state on: utime and stime are the 12th and 13th
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
  } catch {
    return undefined;
  }
}

export const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};

interface ApiEvent {
  route: string;
  runnerId: string | undefined;
  taskId: number | undefined;
  claimed: number | undefined;
  status: number;
  t0: number;
  t1: number;
}

let cached: Promise<E2eResult> | undefined;
/** Runs the measurement once per process, so `npm run perf` (cost, then e2e) pays for it once. */
export function measureE2e(): Promise<E2eResult> {
  cached ??= measure({ tasks: E2E_TASKS, slots: E2E_SLOTS });
  return cached;
}

async function measure(shape: { tasks: number; slots: number }): Promise<E2eResult> {
  let usage = emptyUsage();
  const stack = await startLocalStack({
    reaperIntervalS: 3600, // passes are run by hand below, so none pollutes the run's counts
    heartbeatTimeoutS: 600,
    waitRetrySeconds: 1,
    assembly: (deps) => countedAssembly(deps, () => usage),
    // before the clients' first call: they cache each command's middleware from then on
    instrument: (clients) => countSdk(clients, () => usage),
  });
  usage = emptyUsage(); // the stack's own start (table, bucket) is no part of a run
  const events: ApiEvent[] = [];
  const logs: Array<{ ts: number; msg: string }> = [];
  const putStarts = new Map<number, number>();
  const workDirs: string[] = []; // the runners' own, removed with the stack
  const newWorkDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'bf-e2e-'));
    workDirs.push(dir);
    return dir;
  };
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    const method = (init?.method ?? 'GET').toUpperCase();
    const t0 = Date.now();
    if (url.origin === stack.services.s3Endpoint) {
      usage.s3.get++; // the runners' PUTs go through node:http: counted from their log below
      return realFetch(input, init);
    }
    const res = await realFetch(input, init);
    const match = matchRoute(method, url.pathname);
    if (!match) return res;
    const t1 = Date.now();
    const route = routeKey(match.route);
    const u = usage.api[route] ?? { calls: 0, total_ms: 0 };
    usage.api[route] = u;
    u.calls++;
    u.total_ms += t1 - t0;
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { runner_id?: string }) : {};
    const id = match.pathParameters.id;
    const event: ApiEvent = {
      route,
      runnerId: body.runner_id,
      taskId: id ? Number(id) : undefined,
      claimed: undefined,
      status: res.status,
      t0,
      t1,
    };
    events.push(event);
    if (match.route.handler === 'claim-task' && res.status === 200) {
      // the claimed task's id, read when the runner reads the answer (through its text()): a clone
      // would tee the body stream, CPU the run itself does not spend, on the same two cores
      const text = res.text.bind(res);
      res.text = async () => {
        const answer = await text();
        event.claimed = (JSON.parse(answer) as { task?: { id: number } }).task?.id;
        return answer;
      };
    }
    return res;
  }) as typeof fetch;

  try {
    const key = stack.operatorKey;
    const post = (path: string, body: unknown, k = key) =>
      fetch(stack.apiUrl + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    // runs_per_instance_type stops at 100: two instance types, one runner of half the slots each
    const types = ['e2e-a', 'e2e-b'];
    const startAnswer = await post('/run/start', {
      ruby_version: '3.4.7',
      runs_per_instance_type: shape.tasks / types.length,
      local: types,
    });
    if (startAnswer.status !== 201) throw new Error(`start answered ${startAnswer.status}`);
    const started = (await startAnswer.json()) as { run_id: number };
    const t0 = Date.now();
    const cpu0 = process.cpuUsage();
    const standIns0 = processCpuMs(stack.services.standInsPid);
    const runners = types.map((instanceType) =>
      createRunner({
        apiUrl: stack.apiUrl,
        apiKey: stack.runnerKey,
        provider: 'local',
        instanceType,
        runId: started.run_id,
        executor: 'synthetic',
        syntheticSize: 0,
        slots: shape.slots / types.length,
        heartbeatS: 30, // the spec's period; a zero-length task sends only its status changes
        json: true,
        hostId: instanceType,
        workDir: newWorkDir(),
        logWrite: (line) => {
          const l = JSON.parse(line) as { ts: string; msg: string; task?: number };
          logs.push({ ts: Date.parse(l.ts), msg: l.msg });
          // each result PUT (runner/upload.ts logs one line per try, just before it)
          if (/^uploading (result|error)\.tar\.gz$/.test(l.msg)) {
            usage.s3.put++;
            if (l.task !== undefined && !putStarts.has(l.task)) putStarts.set(l.task, Date.parse(l.ts));
          }
        },
      }),
    );
    const results = await Promise.all(runners.map((r) => r.done));
    // the task phase, start answer to the last complete: CPU per task leaves the assembly out
    const tasks_s = (Date.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const standIns1 = processCpuMs(stack.services.standInsPid);
    const cpu_ms = {
      api_and_runners: (cpu.user + cpu.system) / 1000,
      stand_ins: standIns0 !== undefined && standIns1 !== undefined ? standIns1 - standIns0 : null,
    };
    const completed = results.reduce((s, r) => s + r.tasksCompleted, 0);
    if (completed !== shape.tasks) throw new Error(`only ${completed} tasks completed`);
    await stack.assemblyIdle();
    const run = (await (
      await fetch(`${stack.apiUrl}/run`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as {
      status: string;
      gzip_url: string | null;
    };
    if (run.status !== 'complete' || !run.gzip_url) throw new Error(`run ended ${run.status}`);
    await (await fetch(run.gzip_url)).arrayBuffer(); // the CLI's archive download
    const wall_s = (Date.now() - t0) / 1000;
    const runUsage = usage;
    usage = emptyUsage(); // the phases below are counted on their own

    // per task and per slot timings, from the wrapped fetch and the runner's log
    const runningAt = new Map<number, number>();
    for (const l of logs) {
      const id = /^running task (\d+)/.exec(l.msg)?.[1];
      if (id) runningAt.set(Number(id), l.ts);
    }
    const overhead_ms: number[] = [];
    // where the overhead goes: claim answer -> "running task" (the runner's set-up), result PUT
    // start -> complete sent (the upload), complete sent -> its answer (the API's complete)
    const overhead_parts_ms = { setup: [] as number[], upload: [] as number[], complete: [] as number[] };
    const claim_gap_ms: number[] = [];
    const lastComplete = new Map<string, number>();
    const claimedAt = new Map<number, number>();
    for (const e of [...events].sort((a, b) => a.t1 - b.t1)) {
      if (e.claimed !== undefined) {
        claimedAt.set(e.claimed, e.t1);
        const prev = e.runnerId && lastComplete.get(e.runnerId);
        if (prev) claim_gap_ms.push(e.t1 - prev);
      }
      if (e.route.endsWith('/complete') && e.status === 200 && e.taskId && e.runnerId) {
        lastComplete.set(e.runnerId, e.t1);
        const c = claimedAt.get(e.taskId);
        const w0 = runningAt.get(e.taskId);
        const w1 = putStarts.get(e.taskId);
        if (c !== undefined && w0 !== undefined && w1 !== undefined) {
          overhead_ms.push(e.t1 - c - (w1 - w0));
          overhead_parts_ms.setup.push(w0 - c);
          overhead_parts_ms.upload.push(e.t0 - w1);
          overhead_parts_ms.complete.push(e.t1 - e.t0);
        }
      }
    }

    if (claimedAt.size !== shape.tasks) {
      // the claimed ids come from the runner's own text() (see the fetch wrapper): read some other way
      throw new Error(`only ${claimedAt.size} of ${shape.tasks} claim answers were seen with their task`);
    }

    // marginal costs: one reaper pass over the example run with all 33 tasks running (each on
    // its own runner, as with one VM per task), then heartbeats of one running task
    const next = (await (
      await post('/run/start', {
        ruby_version: '3.4.7',
        runs_per_instance_type: 33,
        local: ['m'],
        run_id: started.run_id + 1,
      })
    ).json()) as { run_id: number; tasks: Array<{ id: number }> };
    const claimAs = async (runnerId: string): Promise<{ task: { id: number } }> =>
      (await (
        await post(
          `/runs/${next.run_id}/tasks/claim`,
          { provider: 'local', instance_type: 'm', runner_id: runnerId },
          stack.runnerKey,
        )
      ).json()) as { task: { id: number } };
    const claim = await claimAs('m-1');
    for (let n = 2; n <= next.tasks.length; n++) await claimAs(`m-${n}`);
    usage = emptyUsage();
    const r0 = performance.now();
    await stack.reapNow();
    const reaper_pass = { ...usage, duration_ms: performance.now() - r0 };
    usage = emptyUsage();
    const beats = 20;
    for (let n = 0; n < beats; n++) {
      await post(
        `/tasks/${claim.task.id}/heartbeat`,
        { runner_id: 'm-1', status: 'running', progress_pct: n },
        stack.runnerKey,
      );
    }
    const heartbeat = perCall(usage, beats);
    const stop = await post('/run/stop', {});
    if (stop.status !== 200) throw new Error(`stop answered ${stop.status}`);
    await stack.assemblyIdle();

    const listed = await stack.services.s3.send(
      new ListObjectsV2Command({ Bucket: stack.services.bucket, Prefix: `runs/${started.run_id}/` }),
    );
    const stored_bytes = (listed.Contents ?? []).reduce((s, o) => s + (o.Size ?? 0), 0);
    const schedule = stack.deps.schedule as unknown as { enabled?: boolean };
    return {
      ...shape,
      wall_s,
      tasks_s,
      overhead_ms,
      overhead_parts_ms,
      claim_gap_ms,
      run: runUsage,
      reaper_pass,
      heartbeat,
      stored_bytes,
      schedule_enabled_after_run: schedule.enabled === true,
      cpu_ms,
    };
  } finally {
    globalThis.fetch = realFetch;
    await stack.stop();
    for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
  }
}

const round = (x: number): number => Math.round(x * 10) / 10;

/** The timing line of one run. */
function timings(bench: string, r: E2eResult): string {
  return JSON.stringify({
    bench,
    tasks: r.tasks,
    slots: r.slots,
    overhead_median_ms: round(quantile(r.overhead_ms, 0.5)),
    overhead_p99_ms: round(quantile(r.overhead_ms, 0.99)),
    overhead_parts_median_ms: {
      setup: round(quantile(r.overhead_parts_ms.setup, 0.5)),
      upload: round(quantile(r.overhead_parts_ms.upload, 0.5)),
      complete: round(quantile(r.overhead_parts_ms.complete, 0.5)),
    },
    claim_gap_median_ms: round(quantile(r.claim_gap_ms, 0.5)),
    claim_gap_p99_ms: round(quantile(r.claim_gap_ms, 0.99)),
    wall_s: round(r.wall_s),
    // what bounds the figures above on a small machine: the CPU each task costs, and how much of
    // the machine the tasks kept busy (the assembly left out)
    cpu_ms_per_task: {
      api_and_runners: round(r.cpu_ms.api_and_runners / r.tasks),
      stand_ins: r.cpu_ms.stand_ins === null ? null : round(r.cpu_ms.stand_ins / r.tasks),
    },
    cores_busy:
      r.cpu_ms.stand_ins === null
        ? null
        : round((r.cpu_ms.api_and_runners + r.cpu_ms.stand_ins) / 1000 / r.tasks_s),
    samples: { overhead: r.overhead_ms.length, claim_gap: r.claim_gap_ms.length },
  });
}

export async function run(): Promise<void> {
  const r = await measureE2e();
  console.log(timings('e2e', r));
  const calls = Object.fromEntries(Object.entries(r.run.api).map(([k, v]) => [k, v.calls]));
  console.log(
    JSON.stringify({
      bench: 'e2e-counts',
      api_calls: calls,
      ddb_calls: r.run.ddb.calls,
      ddb_rcu: round(r.run.ddb.rcu),
      ddb_wcu: round(r.run.ddb.wcu),
      s3_put: r.run.s3.put,
      s3_get: r.run.s3.get,
      s3_server_side: r.run.s3.by_command,
      sfn_executions: r.run.sfn.executions,
      sfn_transitions: r.run.sfn.transitions,
      reaper_pass: {
        ddb_calls: r.reaper_pass.ddb.calls,
        rcu: r.reaper_pass.ddb.rcu,
        wcu: r.reaper_pass.ddb.wcu,
      },
      heartbeat: { ddb_calls: r.heartbeat.ddb.calls, rcu: r.heartbeat.ddb.rcu, wcu: r.heartbeat.ddb.wcu },
    }),
  );
  console.log(timings('e2e-2-slots', await measure(FEW_SLOTS)));
}
