// `benchfleet start` quit: during the watch, Ctrl-C, SIGTERM or SIGHUP leaves the run going in the
// cloud and says how to go on. A first Ctrl-C or SIGTERM during the fleet launch or while the
// archive downloads tears the fleets down before exiting 130 or 143 (with --keep-fleet it leaves
// them and says `benchfleet teardown RUN_ID`); a second one quits at once, naming what may be left
// up.
// The real CLI as a terminal's foreground job (its own process group, signalled whole, or its pid
// alone as `kill PID` does; fake cdk and terraform run in groups of their own and get each signal
// once, from the CLI), against the local API in this process, a fake AWS endpoint, and fake cloud
// commands that log their calls. The rules alone, on a stand-in emitter: start-signal-rules.test.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type LocalStack, startLocalStack } from '../../lambdas/adapters/local/stack';
import { ROOT } from '../helpers/cli';
import { eventually } from '../helpers/cli-process';
import { argv, type FakeCall, fakeOutputs, playerApi, type Sandbox, sandbox, startFiles } from './helpers';

jest.setTimeout(180_000);

describe('benchfleet start, interrupted', () => {
  const OPERATOR = 'cli-test-operator';
  const RUNNER = 'cli-test-runner';
  let stack: LocalStack;
  let awsServer: Server;
  let awsUrl: string;
  let box: Sandbox;
  let tarball: Buffer;
  let keyFile: string;
  let configFile: string;
  let cli: ChildProcess | undefined;
  const LAUNCH = 'cdk deploy BenchfleetFleet|terraform -chdir=terraform-azure apply';
  const SLOW_FETCH = `--require ${join(__dirname, 'fakes', 'slow-fetch.cjs')}`;

  /** Secrets Manager and Service Quotas answer; EC2 refuses (preflight then only warns). */
  function fakeAws(): Server {
    return createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        const target = String(req.headers['x-amz-target'] ?? '');
        const json = (answer: unknown): void => {
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify(answer));
        };
        if (target.endsWith('.GetSecretValue')) {
          const id = String(JSON.parse(body).SecretId);
          return json({ ARN: id, Name: id, SecretString: id.endsWith(':runner') ? RUNNER : OPERATOR });
        }
        if (target.endsWith('.GetServiceQuota')) return json({ Quota: { Value: 32 } });
        res.writeHead(403, { 'content-type': 'text/xml' });
        res.end(
          '<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>not in this test</Message></Error></Errors><RequestID>1</RequestID></Response>',
        );
      });
    });
  }

  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    stack = await startLocalStack({ operatorKey: OPERATOR, runnerKey: RUNNER, reaperIntervalS: 3600 });
    awsServer = fakeAws();
    await new Promise<void>((r) => awsServer.listen(0, '127.0.0.1', r));
    awsUrl = `http://127.0.0.1:${(awsServer.address() as AddressInfo).port}`;
    const files = startFiles('bf-start-signals-');
    const dir = files.dir;
    ({ tarball, keyFile } = files);
    configFile = join(dir, 'run.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        ruby_version: '3.4.7',
        runs_per_instance_type: 1,
        aws: ['c7g.medium'],
        azure: ['Standard_D2pls_v6'],
      }),
    );
  });
  afterAll(async () => {
    awsServer.closeAllConnections();
    awsServer.close();
    await stack.stop();
  });

  beforeEach(() => {
    box = sandbox({
      FAKE_SLEEP_MS: '50',
      FAKE_RENDEZVOUS: '',
      FAKE_AZ_USAGE: JSON.stringify([
        { currentValue: 0, limit: 100, name: { value: 'cores', localizedValue: 'Total Regional vCPUs' } },
        { currentValue: 0, limit: 20, name: { value: 'standardDPLSv6Family' } },
      ]),
      FAKE_CDK_OUTPUTS: JSON.stringify(fakeOutputs(stack.apiUrl)),
    });
  });
  afterEach(() => {
    if (cli?.pid && cli.exitCode === null && cli.signalCode === null) process.kill(-cli.pid, 'SIGKILL');
    cli = undefined;
    box.restore();
  });

  /** The CLI leading its own process group, as a terminal's foreground job. */
  function start(args: string[], env: Record<string, string> = {}) {
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'bin', 'benchfleet.js'),
        'start',
        '--config',
        configFile,
        '--yes',
        '--ssh-public-key',
        keyFile,
        ...args,
      ],
      {
        cwd: ROOT,
        detached: true,
        env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN', AWS_ENDPOINT_URL: awsUrl, ...env },
      },
    );
    cli = child;
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    child.stdout?.resume();
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const waitFor = async (pattern: RegExp): Promise<RegExpMatchArray> => {
      for (const deadline = Date.now() + 90_000; ; await new Promise((r) => setTimeout(r, 50))) {
        const m = stderr.match(pattern);
        if (m) return m;
        const gone = child.exitCode !== null || child.signalCode !== null;
        if (gone || Date.now() > deadline)
          throw new Error(`${gone ? 'the CLI exited' : 'timed out'} before ${pattern}; stderr:\n${stderr}`);
      }
    };
    // A Ctrl-C at the terminal: the whole foreground group gets it.
    const signal = (sig: NodeJS.Signals): void => {
      process.kill(-(child.pid as number), sig);
    };
    // `kill PID` from another shell, or a job runner: the CLI alone gets it.
    const signalCli = (sig: NodeJS.Signals): void => {
      process.kill(child.pid as number, sig);
    };
    return { stderr: () => stderr, exited, waitFor, signal, signalCli };
  }

  type Call = FakeCall & { signal?: string; signals?: string[]; ownGroup?: boolean };
  const calls = (): Call[] => box.calls().filter((c) => c.args[0] !== '--version');
  const lines = (): string[] => calls().map(argv);

  const api = playerApi(() => stack.apiUrl);

  /** Plays the runners of the started run `runId`: claims each task, uploads a result, completes it. */
  async function playRunners(runId: number): Promise<void> {
    for (const [provider, type] of [
      ['aws', 'c7g.medium'],
      ['azure', 'Standard_D2pls_v6'],
    ] as const) {
      const claim = await api('POST', `/runs/${runId}/tasks/claim`, RUNNER, {
        provider,
        instance_type: type,
        runner_id: `r-${type}`,
      });
      expect(claim.status).toBe('assigned');
      await fetch(String(claim.presigned_urls?.result), { method: 'PUT', body: new Uint8Array(tarball) });
      await api('POST', `/tasks/${claim.task?.id}/complete`, RUNNER, { runner_id: `r-${type}` });
    }
  }

  /** Starts a run with a stalling archive; resolves once the CLI is in the middle of unpacking it. */
  async function stuckInDownload(args: string[], env: Record<string, string> = {}) {
    const p = start(args, {
      NODE_OPTIONS: SLOW_FETCH,
      FAKE_STALL_ARCHIVE: '1',
      ...env,
    });
    const runId = Number((await p.waitFor(/Run (\d+): deploying/))[1]);
    await p.waitFor(/== run \d+: 2 task\(s\) created/);
    await playRunners(runId);
    await p.waitFor(/== download the archive of run \d+ into/);
    const results = join(box.dir, 'results');
    await eventually('the half-written copy', () =>
      existsSync(results) && readdirSync(results).some((f) => f.startsWith(`${runId}.partial-`))
        ? true
        : undefined,
    );
    return { ...p, runId, results };
  }

  // During the watch a quit leaves the run to go on in the cloud and says what to do next, whatever
  // the signal: SIGTERM from a job runner, SIGHUP from a closed terminal, as a Ctrl-C always did.
  it.each([
    ['SIGTERM', 143, 'Terminated'],
    ['SIGHUP', 129, 'Hung up (the terminal was closed)'],
  ] as const)(
    'on %s during the watch, leaves the run going, says how to go on and exits %d',
    async (sig, code, words) => {
      const p = start([]);
      const runId = Number((await p.waitFor(/Run (\d+): deploying/))[1]);
      await p.waitFor(/0\/1 completed/); // the watch's first frame
      p.signalCli(sig);
      expect(await p.exited).toBe(code);
      expect(p.stderr()).toContain(
        `${words}. Run ${runId} goes on in the cloud: \`benchfleet watch\` to follow it`,
      );
      expect(p.stderr()).toContain(
        `\`benchfleet teardown ${runId}\` once it has ended for its fleets (until then they bill)`,
      );
      expect(lines().filter((l) => l.startsWith('cdk destroy') || l.includes(' destroy '))).toEqual([]);
      expect((await api('GET', '/run', OPERATOR)).status).toBe('running');
      await api('POST', `/run/stop`, OPERATOR, { run_id: runId }); // leaves the stack as the next test expects
    },
  );

  it('tears down both fleets on a Ctrl-C during the launch, once cdk and terraform exited, and exits 130', async () => {
    process.env.FAKE_SLOW = LAUNCH;
    const before = await api('GET', '/run', OPERATOR);
    const p = start([]);
    const runId = Number((await p.waitFor(/Run (\d+): deploying/))[1]);
    await p.waitFor(/\[aws\] fake cdk: deploy BenchfleetFleet/);
    await p.waitFor(/\[azure\] fake terraform: -chdir=terraform-azure apply/);
    p.signal('SIGINT');
    expect(await p.exited).toBe(130);

    expect(p.stderr()).toContain(
      `Interrupted: run ${runId} was not started: waiting for the launch commands to end, then tearing down what they launched (Ctrl-C again quits at once).`,
    );
    expect(p.stderr()).toContain(`The fleets of run ${runId} are torn down.`);
    expect(p.stderr()).not.toContain('could not be launched'); // the quit owns the end, not the failure path
    const all = calls();
    const deploy = all.find((c) => argv(c).startsWith('cdk deploy BenchfleetFleet'));
    const apply = all.find((c) => c.tool === 'terraform' && c.args[1] === 'apply');
    // Each got the Ctrl-C once (twice, terraform and cdk would abort at once instead of stopping
    // cleanly): not from the terminal, as they run in groups of their own, but from the CLI.
    expect(deploy?.signals).toEqual(['SIGINT']);
    expect(apply?.signals).toEqual(['SIGINT']);
    expect(deploy?.ownGroup && apply?.ownGroup).toBe(true);
    const destroy = all.find((c) => argv(c).startsWith('cdk destroy BenchfleetFleet'));
    const tfDestroy = all.find((c) => c.tool === 'terraform' && c.args[1] === 'destroy');
    expect(destroy && tfDestroy).toBeTruthy();
    // torn down after the interrupted launch commands had exited
    for (const down of [destroy, tfDestroy]) {
      expect(down?.started).toBeGreaterThanOrEqual(Math.max(deploy?.ended ?? 0, apply?.ended ?? 0));
    }
    expect(existsSync(join(box.dir, '.benchfleet', `azure-${runId}.tfvars.json`))).toBe(false);
    expect((await api('GET', '/run', OPERATOR)).run_id).toBe(before.run_id); // no run was started
  });

  it('forwards a SIGTERM sent to the CLI alone to cdk and terraform, so the launch ends soon, then tears down and exits 143', async () => {
    process.env.FAKE_SLOW = LAUNCH;
    process.env.FAKE_SLOW_MS = '30000';
    const p = start([]);
    const runId = Number((await p.waitFor(/Run (\d+): deploying/))[1]);
    await p.waitFor(/\[aws\] fake cdk: deploy BenchfleetFleet/);
    await p.waitFor(/\[azure\] fake terraform: -chdir=terraform-azure apply/);
    const at = Date.now();
    p.signalCli('SIGTERM');
    expect(await p.exited).toBe(143);
    expect(Date.now() - at).toBeLessThan(15_000); // not the launch's 30 s
    expect(p.stderr()).toContain(
      `Terminated: run ${runId} was not started: waiting for the launch commands to end, then tearing down what they launched (a second SIGINT or SIGTERM quits at once).`,
    );
    expect(p.stderr()).toContain(`The fleets of run ${runId} are torn down.`);
    const all = calls();
    const deploy = all.find((c) => argv(c).startsWith('cdk deploy BenchfleetFleet'));
    const apply = all.find((c) => c.tool === 'terraform' && c.args[1] === 'apply');
    expect(deploy?.signals).toEqual(['SIGTERM']);
    expect(apply?.signals).toEqual(['SIGTERM']);
    const downs = all.filter((c) => c.args[0] === 'destroy' || c.args[1] === 'destroy');
    expect(downs).toHaveLength(2);
    for (const down of downs) {
      expect(down.signal).toBeUndefined();
      expect(down.started).toBeGreaterThanOrEqual(Math.max(deploy?.ended ?? 0, apply?.ended ?? 0));
    }
  });

  it('quits at once on a second Ctrl-C during the teardown, naming the fleets left up and `benchfleet teardown RUN_ID`', async () => {
    process.env.FAKE_SLOW = `${LAUNCH}|cdk destroy|terraform -chdir=terraform-azure destroy`;
    const p = start([]);
    const runId = Number((await p.waitFor(/Run (\d+): deploying/))[1]);
    await p.waitFor(/\[azure\] fake terraform: -chdir=terraform-azure apply/);
    await p.waitFor(/\[aws\] fake cdk: deploy BenchfleetFleet/);
    p.signal('SIGINT');
    await p.waitFor(/\[aws\] fake cdk: destroy BenchfleetFleet/);
    await p.waitFor(/\[azure\] fake terraform: -chdir=terraform-azure destroy/);
    const at = Date.now();
    p.signal('SIGINT');
    expect(await p.exited).toBe(130);
    expect(Date.now() - at).toBeLessThan(10_000); // not the fakes' 60 s
    expect(p.stderr()).toContain(
      `Interrupted again: quitting at once. May be left up: the AWS fleet (stack BenchfleetFleet) and the Azure fleet (terraform workspace run-${runId}); \`benchfleet teardown ${runId}\` removes them once the run has ended.`,
    );
    expect(p.stderr()).not.toContain('are torn down');
  });

  it('stops a run that started as the Ctrl-C came (the answer was on its way), then tears its fleets down', async () => {
    const p = start([], { NODE_OPTIONS: SLOW_FETCH, FAKE_HOLD_START_MS: '3000' });
    const runId = Number((await p.waitFor(/Run (\d+): deploying/))[1]);
    await p.waitFor(/slow-fetch: holding the answer of POST \/run\/start/);
    p.signal('SIGINT');
    expect(await p.exited).toBe(130);
    expect(p.stderr()).toContain(
      `Interrupted: run ${runId} was being started: waiting for the API's answer, then tearing down its fleets (Ctrl-C again quits at once).`,
    );
    expect(p.stderr()).toContain(`Run ${runId} started meanwhile: stopping it\n  run ${runId} stopped`);
    expect(p.stderr()).toContain(`The fleets of run ${runId} are torn down.`);
    expect(lines()).toContainEqual(expect.stringMatching(/^cdk destroy BenchfleetFleet /));
    expect(lines()).toContainEqual(expect.stringMatching(/^terraform -chdir=terraform-azure destroy /));
    const run = await api('GET', '/run', OPERATOR);
    expect(run.run_id).toBe(runId);
    expect(run.status).not.toBe('running');
  });

  it('on a Ctrl-C while the archive downloads: results stay in S3, the half-written copy goes, fleets torn down, exit 130', async () => {
    const p = await stuckInDownload([]);
    expect(lines().filter((l) => l.includes('destroy'))).toEqual([]);
    p.signal('SIGINT');
    expect(await p.exited).toBe(130);
    expect(p.stderr()).toContain(
      `Interrupted: the results of run ${p.runId} stay in S3: \`benchfleet download ${p.runId}\` fetches them; tearing down its fleets before quitting (Ctrl-C again quits at once).`,
    );
    expect(p.stderr()).not.toContain('unpacking stopped'); // archive.ts leaves the signal to start
    expect(p.stderr()).toContain(`The fleets of run ${p.runId} are torn down.`);
    expect(lines()).toContainEqual(
      expect.stringMatching(/^cdk destroy BenchfleetFleet -c fleetPlan=.* --force$/),
    );
    expect(lines()).toContainEqual(expect.stringMatching(/^terraform -chdir=terraform-azure destroy /));
    expect(readdirSync(p.results)).toEqual([]); // no half-written copy, no results folder
  });

  it('on a Ctrl-C while the archive downloads: the download stops at once, before the teardown ends', async () => {
    process.env.FAKE_SLOW = 'cdk destroy';
    process.env.FAKE_SLOW_MS = '8000';
    const p = await stuckInDownload([]);
    p.signal('SIGINT');
    await p.waitFor(/\[aws\] fake cdk: destroy BenchfleetFleet/);
    // the connection is closed and the half-written copy removed while cdk destroy still runs
    await p.waitFor(/slow-fetch: the archive download was cancelled/);
    await eventually('the half-written copy removed', () =>
      readdirSync(p.results).length === 0 ? true : undefined,
    );
    expect(lines().filter((l) => l.startsWith('cdk destroy'))).toEqual([]); // not ended yet
    expect(await p.exited).toBe(130);
    expect(p.stderr()).toContain(
      `Interrupted: the results of run ${p.runId} stay in S3: \`benchfleet download ${p.runId}\` fetches them; tearing down its fleets before quitting`,
    );
    expect(p.stderr()).not.toContain('the download failed');
    expect(p.stderr()).toContain(`The fleets of run ${p.runId} are torn down.`);
    expect(readdirSync(p.results)).toEqual([]);
  });

  it('on SIGTERM while the archive downloads with --keep-fleet: fleets kept, `benchfleet teardown RUN_ID` named, exit 143', async () => {
    const p = await stuckInDownload(['--keep-fleet']);
    p.signal('SIGTERM');
    expect(await p.exited).toBe(143);
    expect(p.stderr()).toContain(
      `Terminated: the results of run ${p.runId} stay in S3: \`benchfleet download ${p.runId}\` fetches them; its fleets stay up (--keep-fleet): \`benchfleet teardown ${p.runId}\` removes them.`,
    );
    expect(lines().filter((l) => l.includes('destroy'))).toEqual([]);
    expect(readdirSync(p.results)).toEqual([]);
  });
});
