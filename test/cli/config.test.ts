// Config errors name file, line and field; a bad config makes `start` exit non-zero before any tool runs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadRunConfig } from '../../cli/config';
import { tempDir } from '../helpers/temp-dir';
import { argv, runCli, type Sandbox, sandbox } from './helpers';

const dir = tempDir('bf-config-');
const write = (name: string, text: string): string => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

function problemsOf(file: string): string {
  try {
    loadRunConfig(file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error(`${file} was accepted`);
}

describe('loadRunConfig', () => {
  it('reads the shipped configs, comments included', () => {
    expect(loadRunConfig('runs/local.json')).toEqual({
      ruby_version: '3.4.7',
      runs_per_instance_type: 2,
      local: ['local-a', 'local-b'],
    });
    const example = loadRunConfig('runs/example.json');
    expect(example.aws).toHaveLength(7);
    expect(example.azure).toEqual([
      'Standard_D2pls_v6',
      'Standard_D2als_v6',
      'Standard_D2ls_v6',
      'Standard_F2als_v6',
    ]);
  });

  it('names file, line and field of a missing field', () => {
    const file = write('missing.json', '{\n  "ruby_version": "3.4.7",\n  "local": ["a"]\n}\n');
    expect(problemsOf(file)).toContain(`${file}:1:1: runs_per_instance_type: required field is missing`);
  });

  it('names file, line and field of a bad type', () => {
    const file = write(
      'type.json',
      '{\n  "ruby_version": "3.4.7",\n  // runs\n  "runs_per_instance_type": "two",\n  "local": ["a"]\n}\n',
    );
    expect(problemsOf(file)).toContain(`${file}:4:29: runs_per_instance_type: must be a number`);
  });

  it('points at the second copy of a duplicated instance type', () => {
    const file = write(
      'dup.json',
      '{\n  "ruby_version": "3.4.7",\n  "runs_per_instance_type": 1,\n  "aws": [\n    "c7g.medium",\n    "c7g.medium"\n  ]\n}\n',
    );
    expect(problemsOf(file)).toContain(`${file}:6:5: aws[1]: instance type "c7g.medium" is listed twice`);
  });

  it('names the line of invalid JSON', () => {
    const file = write('broken.json', '{\n  "ruby_version": "3.4.7"\n  "runs_per_instance_type": 1\n}\n');
    expect(problemsOf(file)).toContain(`${file}:3:3: invalid JSON: expected a comma`);
  });

  it('names an unknown key and lists the allowed ones', () => {
    const file = write(
      'unknown.json',
      '{"ruby_version": "3.4.7", "runs_per_instance_type": 1,\n "local": ["a"], "colour": "red"}',
    );
    const msg = problemsOf(file);
    expect(msg).toContain(
      `${file}:2:18: colour: unknown field; allowed: ruby_version, runs_per_instance_type`,
    );
  });

  it('refuses a key given twice', () => {
    const file = write(
      'twice.json',
      '{"ruby_version": "3.4.7",\n "runs_per_instance_type": 1,\n "runs_per_instance_type": 2, "local": ["a"]}',
    );
    expect(problemsOf(file)).toContain(`${file}:3:2: runs_per_instance_type: the field is given twice`);
  });

  it('says when the file does not exist', () => {
    expect(problemsOf(join(dir, 'nope.json'))).toContain('cannot read the config (no such file)');
  });

  it('names where a relative path was looked for, and why there under npm', () => {
    const lifecycle = process.env.npm_lifecycle_event;
    try {
      delete process.env.npm_lifecycle_event;
      expect(problemsOf('cfg/nope.json')).toContain(
        `check the --config path (read as ${join(process.cwd(), 'cfg', 'nope.json')}, from the current folder)`,
      );
      process.env.npm_lifecycle_event = 'start';
      expect(problemsOf('cfg/nope.json')).toContain(
        "from the current folder: npm start runs from the project's folder)",
      );
    } finally {
      if (lifecycle === undefined) delete process.env.npm_lifecycle_event;
      else process.env.npm_lifecycle_event = lifecycle;
    }
  });
});

describe('benchfleet start with a bad config', () => {
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
  });
  afterEach(() => box.restore());

  it.each([
    ['missing field', '{"ruby_version": "3.4.7", "aws": ["c7g.medium"]}', 'runs_per_instance_type'],
    ['bad type', '{"ruby_version": 3.4, "runs_per_instance_type": 1, "aws": ["c7g.medium"]}', 'ruby_version'],
    [
      'duplicated type',
      '{"ruby_version": "3.4.7", "runs_per_instance_type": 1, "aws": ["c7g.medium", "c7g.medium"]}',
      'aws[1]',
    ],
    [
      'invalid JSON',
      '{"ruby_version": "3.4.7", "runs_per_instance_type": 1, "aws": ["c7g.medium"',
      'invalid JSON',
    ],
    [
      'unknown key',
      '{"ruby_version": "3.4.7", "runs_per_instance_type": 1, "aws": ["c7g.medium"], "gcp": ["x"]}',
      'gcp',
    ],
  ])('%s: exits 1 naming file, line and field, and runs no tool', async (_name, text, field) => {
    const file = write(`start-${field.replace(/\W/g, '')}.json`, text);
    const r = await runCli(['start', '--config', file, '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1:\\d+: .*${field.replace(/[[\]]/g, '\\$&')}`,
      ),
    );
    expect(box.calls().map(argv)).toEqual([]);
  });
});
