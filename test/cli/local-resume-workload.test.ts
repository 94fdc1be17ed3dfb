// A run of `benchfleet local --data-dir D` goes on, when resumed, with the workload it was started
// with (cli/lib/local-run-record.ts): resumed with another --workload it is refused, naming both
// and what to do; resumed without --workload and --image it takes the recorded ones and says so;
// a data dir without the record (an older benchfleet) resumes with the flags given, as before. The
// docker run talks to a stand-in engine on a unix socket whose image pulls never end, so a quit
// leaves the run with tasks to go.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';
import { CliProcess, eventually } from '../helpers/cli-process';

jest.setTimeout(180_000);

const IMAGE = 'benchfleet-stand-in-ruby:1';

/** Answers a ping, an empty container list and a version; has no image, and never ends a pull. */
function standInEngine(socket: string): { seen: string[]; close(): Promise<void> } {
  const seen: string[] = [];
  const pulls = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '').split('?')[0] ?? '').replace(/^\/v[\d.]+/, '');
    seen.push(`${req.method} ${path}`);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (path === '/_ping') res.end('OK');
    else if (path === '/containers/json') json(200, []);
    else if (path === '/version') json(200, { Version: 'stand-in', ApiVersion: '1.41' });
    else if (path.startsWith('/images/') && path.endsWith('/json')) json(404, { message: 'no such image' });
    else {
      res.writeHead(200, { 'content-type': 'application/json' }); // a pull that never ends
      res.write('');
      pulls.add(res);
    }
  });
  server.listen(socket);
  return {
    seen,
    close: () =>
      new Promise((resolve) => {
        for (const res of pulls) res.destroy();
        server.close(() => resolve());
      }),
  };
}

let dir: string;
let engine: ReturnType<typeof standInEngine>;
const running: CliProcess[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bf-resume-workload-'));
  engine = standInEngine(join(dir, 'docker.sock'));
});
afterAll(async () => {
  for (const p of running) p.kill();
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

it('resumes a docker run with its workload and image, refuses other ones, and resumes an older data dir as before', async () => {
  const config = join(dir, 'run.json');
  writeFileSync(config, '{"ruby_version": "3.4.7", "runs_per_instance_type": 4, "local": ["solo"]}\n');
  const data = join(dir, 'data');
  const results = join(dir, 'results');
  const env = { BENCHFLEET_DOCKER_HOST: `unix://${join(dir, 'docker.sock')}` };
  const args = ['local', '-c', config, '--data-dir', data, '--results-dir', results, '--slots', '1'];
  const start = (more: string[]): CliProcess => {
    const p = new CliProcess([...args, ...more], env);
    running.push(p);
    return p;
  };
  const pulling = (from: number): true | undefined =>
    engine.seen.slice(from).includes(`GET /images/${IMAGE}/json`) || undefined;

  // a docker run, quit while its first task waits for the image: left running, tasks to go
  const first = start(['--workload', 'docker', '--image', IMAGE]);
  const runId = Number(
    (await first.waitFor(/^== run (\d+): 4 tasks on 1 local instance type, docker workload ==$/m))[1],
  );
  await eventually('the first task to ask for the image', () => pulling(0), 60_000);
  first.signal('SIGTERM');
  expect((await first.exited).code).toBe(143);
  expect(JSON.parse(readFileSync(join(data, 'local-run.json'), 'utf8'))).toEqual({
    run_id: runId,
    workload: 'docker',
    image: IMAGE,
  });

  // another workload: refused before any runner starts (another --image or --synthetic-size is
  // refused the same way: local-run-record.test.ts)
  const refused = await runCli([...args, '--workload', 'synthetic', '--synthetic-size', '0'], env);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain(
    `\nbenchfleet local: run ${runId} in the data dir ${data} was started with --workload docker; resuming it with --workload synthetic would mix two kinds of numbers in one archive. Resume it with --workload docker (or leave --workload out), or start a new run with another --data-dir\n`,
  );
  expect(refused.stderr).not.toContain('runner logs:');

  // neither given: the recorded workload and image, said so
  const before = engine.seen.length;
  const resumed = start(['--synthetic-size', '0']);
  await resumed.waitFor(
    new RegExp(
      `^  resuming with --workload docker --image ${IMAGE}, as the run was started \\(recorded in ${join(data, 'local-run.json')}; flags given now must match it\\)$`,
      'm',
    ),
  );
  await eventually('the resumed runner to ask the engine for the image', () => pulling(before), 60_000);
  expect(resumed.stderr).toContain(`== resuming run ${runId} from the data dir ${data}`);
  expect(resumed.stderr).toContain('  1 local instance type, docker workload\n');
  expect(resumed.stderr).not.toContain('(synthetic: ');
  resumed.signal('SIGTERM');
  expect((await resumed.exited).code).toBe(143);

  // a data dir of an older benchfleet, without the record: the flags given, as before
  rmSync(join(data, 'local-run.json'));
  const older = await runCli([...args, '--synthetic-size', '0'], env);
  expect(older.code).toBe(0);
  expect(older.stderr).toContain(`== resuming run ${runId} from the data dir ${data}`);
  expect(older.stderr).toContain('  1 local instance type, synthetic workload\n');
  expect(older.stderr).not.toContain('resuming with --workload');
  expect(existsSync(join(results, String(runId), 'manifest.json'))).toBe(true);
});
