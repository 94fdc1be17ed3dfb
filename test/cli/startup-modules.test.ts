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
