// What `--help` says: every option shown once, with a default that reads right, and advice that works.
import type { Command } from 'commander';
import { buildProgram } from '../../cli/main';

/** A command's help on one line, so the terminal width does not split the phrases checked. */
function help(name: string): string {
  const cmd = buildProgram().commands.find((c: Command) => c.name() === name);
  if (!cmd) throw new Error(`no command ${name}`);
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  cmd.outputHelp(); // with the text added after the options
  return text.replace(/\s+/g, ' ');
}

it('start --help gives the --ssh-cidr default once', () => {
  const text = help('start');
  expect(text).toContain('--ssh-cidr <cidr>');
  expect(text.match(/\(default: /g)?.length).toBe(text.match(/\(default: [^)]*\)/g)?.length);
  expect(text).toContain('(default: none, SSH closed)');
  expect(text).not.toContain('(default: [])');
  expect(text.split('SSH closed')).toHaveLength(2);
});

it('local --help lists --verbose', () => {
  expect(help('local')).toMatch(/--verbose .*handlers' INFO logs/);
});

it('local --help says how to start a run on --serve without `benchfleet start`, which refuses local types', () => {
  const text = help('local');
  expect(text).not.toContain('benchfleet start');
  expect(text).toContain('POST /run/start');
  expect(text).toContain('node dist/runner.js --provider local');
  expect(text).toContain('node scripts/build-runner.mjs');
});
