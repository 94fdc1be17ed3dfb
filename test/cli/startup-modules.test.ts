// The CLI loads dockerode (and with it ssh2, grpc and protobufjs) only when a Docker workload runs:
// every command, `--help` included, starts a third faster without it. Checked in a fresh process,
// as bin/benchfleet.js loads the CLI.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

it('loading the CLI leaves dockerode unloaded until a Docker client is made', () => {
  const script = `
    process.env.TSX_TSCONFIG_PATH = ${JSON.stringify(join(ROOT, 'tsconfig.json'))};
    require('tsx/cjs');
    require(${JSON.stringify(join(ROOT, 'cli', 'main.ts'))}).buildProgram();
    const loaded = () => Object.keys(require.cache).filter((f) => /node_modules\\/(dockerode|ssh2|@grpc)\\//.test(f));
    const afterLoad = loaded();
    const { dockerClient } = require(${JSON.stringify(join(ROOT, 'runner', 'executors', 'docker.ts'))});
    const beforeUse = loaded();
    dockerClient('unix:///nonexistent.sock');
    console.log(JSON.stringify({ afterLoad, beforeUse, afterUse: loaded().some((f) => f.includes('/dockerode/')) }));
  `;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' }));
  expect(out).toEqual({ afterLoad: [], beforeUse: [], afterUse: true });
});

it('loading the CLI leaves the cloud SDK clients unloaded: the commands that use them load them', () => {
  // EC2 alone took 0.4 s of every command's start, `--help` and `local` included, through deploy's imports
  const script = `
    process.env.TSX_TSCONFIG_PATH = ${JSON.stringify(join(ROOT, 'tsconfig.json'))};
    require('tsx/cjs');
    require(${JSON.stringify(join(ROOT, 'cli', 'main.ts'))}).buildProgram();
    const clients = Object.keys(require.cache)
      .map((f) => /node_modules\\/@aws-sdk\\/(client-[a-z0-9-]+)\\//.exec(f)?.[1])
      .filter(Boolean);
    console.log(JSON.stringify([...new Set(clients)].sort()));
  `;
  const loaded = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' }));
  // S3's is the local stack's and the runner's, which `local` (the default) needs at once
  expect(loaded.filter((c: string) => c !== 'client-s3')).toEqual([]);
});
