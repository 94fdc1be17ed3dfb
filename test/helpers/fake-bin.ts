// Fake commands for shell scripts under test: a scratch dir whose bin/ comes first on PATH, each
// fake appending its argv to calls.log, and bash to run a script there. Used by the tests of the
// Azure cloud-init and of the AWS boot script.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './temp-dir';

/** A scratch dir whose bin/ holds the given fake commands (sh scripts) ahead of the real PATH. */
export function fakeBin(commands: Record<string, string>): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = tempDir('bf-tf-');
  execFileSync('mkdir', ['-p', join(dir, 'bin')]);
  for (const [name, body] of Object.entries(commands)) {
    const file = join(dir, 'bin', name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
  }
  return { dir, env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, FAKE_OUT: dir, HOME: dir } };
}

// Each fake call appends one line: its argv joined by \x1f (values never hold that or a newline).
export const RECORD_ARGS = `(IFS=$(printf '\\037'); echo "$0$IFS$*") >> "$FAKE_OUT/calls.log"`;

export function recordedCalls(dir: string): string[][] {
  let text = '';
  try {
    text = readFileSync(join(dir, 'calls.log'), 'utf8');
  } catch {
    return [];
  }
  return text
    .trimEnd()
    .split('\n')
    .map((l) => {
      const [cmd = '', ...args] = l.split('\x1f');
      return [cmd.split('/').at(-1) ?? '', ...args];
    });
}

/** Runs a script with bash in the fake environment; never throws, so a test can assert the status. */
export function runScript(
  dir: string,
  env: NodeJS.ProcessEnv,
  script: string,
): { status: number | null; stdout: string; stderr: string } {
  const file = join(dir, 'script.sh');
  writeFileSync(file, script);
  // Only a guard against a script that hangs, kept under jest's 60 s: some scripts fork hundreds of
  // fakes (the Azure deallocate's 60 tries), which took 16 s on a 2-core machine running the suite.
  const r = spawnSync('bash', [file], { env, encoding: 'utf8', timeout: 50_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
