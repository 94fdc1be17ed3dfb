// BENCHFLEET_CDK (and BENCHFLEET_TERRAFORM, BENCHFLEET_AZ) are read as a shell reads a command
// line, without expanding anything: quotes keep a path with blanks in one word, a whole value that
// names a file is that file, and every path in the value is the current folder's (the command with
// a slash, later words starting with ./ or ../), though the tool runs in the project root.
import { chmodSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { toolCommand } from '../../cli/lib/exec';
import { fakeOutputs, runCli, type Sandbox, sandbox, stackGone } from './helpers';

// deploy first asks whether a run is at work on the deployment: none is deployed here
const metaStack = mockClient(CloudFormationClient);
beforeEach(() => {
  metaStack.reset();
  metaStack.on(DescribeStacksCommand).rejects(stackGone('Benchfleet'));
});

const ROOT = resolve(__dirname, '..', '..');
const FAKE = resolve(__dirname, 'fakes', 'fake-tool.js');
const home = process.cwd();
let box: Sandbox;
let here: string;
let tools: string;

beforeEach(() => {
  box = sandbox({ FAKE_CDK_OUTPUTS: JSON.stringify(fakeOutputs('https://api.example.invalid')) });
  here = realpathSync(box.dir);
  tools = join(here, 'my tools');
  mkdirSync(tools);
  // a cdk as a script without the execute bit (run through node) and as an executable
  writeFileSync(
    join(tools, 'cdk.js'),
    `process.argv.splice(2, 0, 'cdk');\nrequire(${JSON.stringify(FAKE)});\n`,
  );
  writeFileSync(join(tools, 'cdk'), `#!/bin/sh\nexec "${process.execPath}" "${FAKE}" cdk "$@"\n`);
  chmodSync(join(tools, 'cdk'), 0o755);
  process.chdir(here);
});
afterEach(() => {
  process.chdir(home);
  box.restore();
});

const read = (value: string): string[] => {
  process.env.BENCHFLEET_CDK = value;
  return toolCommand('cdk');
};

describe('toolCommand', () => {
  it('takes later words starting with ./ or ../ from the current folder, not the project root', () => {
    expect(read('node ./node_modules/aws-cdk/bin/cdk --verbose')).toEqual([
      'node',
      join(here, 'node_modules/aws-cdk/bin/cdk'),
      '--verbose',
    ]);
    expect(read('node ../cdk.js')).toEqual(['node', resolve(here, '..', 'cdk.js')]);
    expect(read('npx cdk')).toEqual(['npx', 'cdk']);
  });

  it('keeps a quoted or escaped path with blanks in one word, as a shell would', () => {
    expect(read(`"./my tools/cdk" --profile 'dev account'`)).toEqual([
      join(tools, 'cdk'),
      '--profile',
      'dev account',
    ]);
    expect(read('node ./my\\ tools/cdk.js')).toEqual(['node', join(tools, 'cdk.js')]);
    expect(read(`node "${tools}/cdk.js"`)).toEqual(['node', join(tools, 'cdk.js')]);
  });

  it('takes a whole value that names a file as that file, blanks and all', () => {
    expect(read(join(tools, 'cdk'))).toEqual([join(tools, 'cdk')]);
    expect(read('my tools/cdk')).toEqual([join(tools, 'cdk')]);
  });

  it('refuses what only a shell reads (a pipe, a pattern, a quote left open), naming the variable', () => {
    expect(() => read('npx cdk | tee cdk.log')).toThrow(
      'BENCHFLEET_CDK must be one command with its arguments, but BENCHFLEET_CDK=npx cdk | tee cdk.log has {"op":"|"}, which only a shell reads: quote it, or unset BENCHFLEET_CDK to use `npx cdk`',
    );
    expect(() => read('node ./bin/*.js')).toThrow('has the pattern ./bin/*.js, which only a shell reads');
    expect(() => read('node "./my tools/cdk.js')).toThrow(
      `BENCHFLEET_CDK has a " that is never closed (BENCHFLEET_CDK=node "./my tools/cdk.js): close it, or unset BENCHFLEET_CDK to use \`npx cdk\``,
    );
    // quotes of the other kind, and escaped ones, are plain characters; only ./ and ../ words are paths
    expect(read(`node "it's/a \\"b\\".js" 'x"y'`)).toEqual(['node', `it's/a "b".js`, 'x"y']);
  });
});

describe('deploy with an override', () => {
  it('runs `node "./my tools/cdk.js"` from the current folder, in the project root', async () => {
    process.env.BENCHFLEET_CDK = 'node "./my tools/cdk.js"';
    const r = await runCli(['deploy', '--json']);
    // on failure, the whole result is what is received, so the report shows what deploy printed
    // (a matcher on `code` alone shows only the code: this failed now and then under load)
    expect(r.code === 0 ? 0 : r).toBe(0);
    expect(r.stderr).not.toContain('failed');
    const [call] = box.calls() as unknown as Array<{ tool: string; args: string[]; cwd: string }>;
    expect(call?.tool).toBe('cdk');
    expect(call?.args[0]).toBe('deploy');
    expect(call?.cwd).toBe(ROOT);
  });

  it('says how it read a value whose command is not found, and how to quote a path with blanks', async () => {
    process.env.BENCHFLEET_CDK = `${here}/no such/cdk`;
    const r = await runCli(['deploy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `\nbenchfleet deploy: ${here}/no was not found (needed for cdk): it comes from BENCHFLEET_CDK=${here}/no such/cdk, read as the command ${here}/no with the arguments such/cdk; fix BENCHFLEET_CDK (a path with blanks goes in quotes: BENCHFLEET_CDK='"/opt/my tools/cdk"'), or unset it to use \`npx cdk\`\n`,
    );
  });

  it('says a script that is not executable needs its interpreter', async () => {
    process.env.BENCHFLEET_CDK = './my tools/cdk.js';
    const r = await runCli(['deploy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `benchfleet deploy: ${join(tools, 'cdk.js')} cannot be run (needed for cdk; EACCES: not an executable file): it comes from BENCHFLEET_CDK=./my tools/cdk.js; fix BENCHFLEET_CDK (a script may need its interpreter first: BENCHFLEET_CDK="node '${join(tools, 'cdk.js')}'")`,
    );
    // the value it suggests is read back as the interpreter and the whole path
    expect(read(`node '${join(tools, 'cdk.js')}'`)).toEqual(['node', join(tools, 'cdk.js')]);
  });
});
