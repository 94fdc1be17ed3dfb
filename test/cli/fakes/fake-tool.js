#!/usr/bin/env node
// A stand-in for cdk, terraform and az: records each call (argv, folder, start and end time, and
// the files it was handed) as one JSON line in $FAKE_LOG, and answers like the real tool would.
// Usage: fake-tool.js <tool> args...  (the `cdk`, `terraform`, `az` wrappers beside it call this).
const fs = require('node:fs');

const [tool, ...args] = process.argv.slice(2);
const started = Date.now();
const sleepMs = Number(process.env.FAKE_SLEEP_MS ?? 0);
// Where it was started, and the Azure subscription terraform was handed (azurerm 4 needs one).
const entry = { tool, args, started, cwd: process.cwd() };
if (tool === 'terraform') {
  entry.subscription = process.env.ARM_SUBSCRIPTION_ID ?? null;
  entry.workspace = process.env.TF_WORKSPACE ?? null;
  // the mode of the folder terraform keeps run states in (and the runner key with them); null: none
  const chdir = args.find((a) => a.startsWith('-chdir='))?.slice('-chdir='.length) ?? '.';
  try {
    entry.stateDirMode = fs.statSync(require('node:path').join(chdir, 'terraform.tfstate.d')).mode & 0o777;
  } catch {
    entry.stateDirMode = null;
  }
}

// As cdk does, a command that synthesizes locks its cloud assembly folder (--output) and fails at
// once if another cdk holds it. Without --output that folder is cdk.out in the checkout, which the
// fake does not touch: it records `output: null` instead.
let assemblyLock;
if (tool === 'cdk' && ['deploy', 'destroy', 'synth', 'diff'].includes(args[0])) {
  const at = args.indexOf('--output');
  entry.output = at >= 0 ? args[at + 1] : null;
  if (entry.output) {
    fs.mkdirSync(entry.output, { recursive: true });
    try {
      fs.writeFileSync(`${entry.output}/synth.lock`, String(process.pid), { flag: 'wx' });
      assemblyLock = `${entry.output}/synth.lock`;
    } catch {
      console.error(
        `Another CLI (PID=${fs.readFileSync(`${entry.output}/synth.lock`, 'utf8')}) is currently synthing to ${entry.output}. Invoke the CLI in sequence, or use '--output' to synth into different directories.`,
      );
      entry.ended = Date.now();
      if (process.env.FAKE_LOG) fs.appendFileSync(process.env.FAKE_LOG, `${JSON.stringify(entry)}\n`);
      process.exit(1);
    }
  }
}

function finish(code) {
  if (assemblyLock) fs.rmSync(assemblyLock, { force: true });
  entry.ended = Date.now();
  if (process.env.FAKE_LOG) fs.appendFileSync(process.env.FAKE_LOG, `${JSON.stringify(entry)}\n`);
  process.exit(code);
}
// FAKE_SLOW="<argv prefix>|<argv prefix>": those calls take FAKE_SLOW_MS (default 60 s) instead of
// FAKE_SLEEP_MS, so a test can signal the CLI while they run. A slow call that gets SIGINT or
// SIGTERM stops as the real tools do: cleanly, in FAKE_STOP_MS (default 300 ms), or at once on a
// second signal; then it logs itself with the first `signal` and every one it got (`signals`),
// and dies of the first. It also logs whether it leads a process group of its own (`ownGroup`).
const slow = (process.env.FAKE_SLOW ?? '')
  .split('|')
  .some((p) => p && [tool, ...args].join(' ').startsWith(p));
if (slow) {
  const pgid = require('node:child_process').execFileSync('ps', ['-o', 'pgid=', '-p', String(process.pid)]);
  entry.ownGroup = Number(String(pgid).trim()) === process.pid;
  const die = () => {
    entry.ended = Date.now();
    if (process.env.FAKE_LOG) fs.appendFileSync(process.env.FAKE_LOG, `${JSON.stringify(entry)}\n`);
    process.removeAllListeners(entry.signal);
    process.kill(process.pid, entry.signal);
  };
  let stopping;
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      entry.signals = [...(entry.signals ?? []), sig];
      if (stopping) {
        clearTimeout(stopping);
        return die();
      }
      entry.signal = sig;
      stopping = setTimeout(die, Number(process.env.FAKE_STOP_MS ?? 300));
    });
  }
}
function later(fn) {
  setTimeout(fn, slow ? Number(process.env.FAKE_SLOW_MS ?? 60_000) : sleepMs);
}
function fails() {
  const f = process.env.FAKE_FAIL; // e.g. "cdk destroy" fails every call whose argv starts so
  return f && [tool, ...args].join(' ').startsWith(f);
}

const contextFile = args.find((a) => a.startsWith('fleetPlan='))?.slice('fleetPlan='.length);
if (contextFile) entry.fleetPlan = JSON.parse(fs.readFileSync(contextFile, 'utf8'));
const varFile = args.find((a) => a.startsWith('-var-file='))?.slice('-var-file='.length);
if (varFile && fs.existsSync(varFile)) entry.tfvars = JSON.parse(fs.readFileSync(varFile, 'utf8'));

// FAKE_RENDEZVOUS=<dir>: `cdk deploy BenchfleetFleet` and `terraform apply` each wait (up to 30 s)
// until the other has started, so they only both succeed when the CLI runs them at the same time.
const party =
  tool === 'cdk' && args[0] === 'deploy' && args[1] === 'BenchfleetFleet'
    ? 'cdk'
    : tool === 'terraform' && args[1] === 'apply'
      ? 'terraform'
      : undefined;
function rendezvous(then) {
  const dir = process.env.FAKE_RENDEZVOUS;
  if (!dir || !party) return then();
  fs.writeFileSync(`${dir}/${party}`, '');
  const other = `${dir}/${party === 'cdk' ? 'terraform' : 'cdk'}`;
  const deadline = Date.now() + 30_000;
  const poll = () => {
    if (fs.existsSync(other)) return then();
    if (Date.now() > deadline) {
      console.error(`fake ${tool}: the other fleet never started while this one ran: not parallel`);
      return finish(1);
    }
    setTimeout(poll, 20);
  };
  poll();
}

// As the real tools: cdk reads cdk.json from the folder it is started in, and terraform changes
// to its -chdir folder, relative to that one, before anything else.
const chdir = args.find((a) => a.startsWith('-chdir='))?.slice('-chdir='.length);

if (tool === 'az' && args[0] === 'account' && args[1] === 'show') {
  // The subscription lookup before terraform: logged to $FAKE_ACCOUNT_LOG (when set), not
  // $FAKE_LOG, so the fleet tests' call lists keep to the fleets' own commands.
  // FAKE_AZ_LOGGED_OUT=1 answers as az does before `az login`.
  if (process.env.FAKE_ACCOUNT_LOG)
    fs.appendFileSync(process.env.FAKE_ACCOUNT_LOG, `${JSON.stringify(entry)}\n`);
  if (process.env.FAKE_AZ_LOGGED_OUT) {
    console.error("ERROR: Please run 'az login' to setup account.");
    process.exit(1);
  }
  const id = process.env.FAKE_AZ_SUBSCRIPTION ?? '00000000-0000-4000-8000-00000000beef';
  console.log(args.includes('tsv') ? id : JSON.stringify({ id, name: 'fake subscription' }));
  process.exit(0);
} else if (tool === 'cdk' && !fs.existsSync('cdk.json')) {
  console.error('--app is required either in command-line, in cdk.json or in ~/.cdk.json');
  finish(1);
} else if (tool === 'terraform' && chdir !== undefined && !fs.existsSync(chdir)) {
  console.error(`Error handling -chdir option: chdir ${chdir}: no such file or directory`);
  finish(1);
} else if (fails()) {
  console.error(process.env.FAKE_FAIL_MESSAGE ?? `fake ${tool}: failing as FAKE_FAIL asks`);
  finish(1);
} else if (tool === 'cdk') {
  const outIdx = args.indexOf('--outputs-file');
  if (outIdx >= 0) fs.writeFileSync(args[outIdx + 1], process.env.FAKE_CDK_OUTPUTS ?? '{}');
  console.log(`fake cdk: ${args.join(' ')}`);
  rendezvous(() =>
    later(() => {
      console.log('fake cdk: done');
      finish(0);
    }),
  );
} else if (tool === 'terraform') {
  console.log(`fake terraform: ${args.join(' ')}`);
  rendezvous(() => later(() => finish(0)));
} else if (tool === 'az') {
  const state = process.env.FAKE_AZ_STATE; // JSON file: { groups: [...] }
  // A group deleted with --no-wait is Deleting until FAKE_AZ_DELETE_MS after the delete (default 0:
  // gone at the next look); then gone, or with FAKE_AZ_DELETE_FAILS set back to Succeeded, as a
  // group whose delete failed in Azure's background (a lock, a policy, a stuck resource).
  const read = () => {
    const s = state && fs.existsSync(state) ? JSON.parse(fs.readFileSync(state, 'utf8')) : { groups: [] };
    const over = (g) => g.properties?.provisioningState === 'Deleting' && g.deleteEndsAt <= Date.now();
    if (!s.groups.some(over)) return s;
    if (process.env.FAKE_AZ_DELETE_FAILS)
      for (const g of s.groups.filter(over)) g.properties = { provisioningState: 'Succeeded' };
    else s.groups = s.groups.filter((g) => !over(g));
    fs.writeFileSync(state, JSON.stringify(s));
    return s;
  };
  // As az: a group command acts in --subscription's subscription, or in az's current one (which
  // ARM_SUBSCRIPTION_ID does not change). A group with no `subscription` is in the current one.
  const current = process.env.FAKE_AZ_SUBSCRIPTION ?? '00000000-0000-4000-8000-00000000beef';
  const subscription = args.includes('--subscription') ? args[args.indexOf('--subscription') + 1] : current;
  const here = (g) => (g.subscription ?? current) === subscription;
  if (args[0] === '--version') {
    console.log('azure-cli 2.99.0 (fake)');
    finish(0);
  } else if (args[0] === 'vm' && args[1] === 'list-usage') {
    console.log(process.env.FAKE_AZ_USAGE ?? '[]');
    finish(0);
  } else if (args[0] === 'group' && args[1] === 'list') {
    const tag = args[args.indexOf('--tag') + 1] ?? '';
    const [k, v] = tag.split('=');
    // FAKE_AZ_IGNORE_FILTER plays an az that returned too much: every group, whatever its tags
    const all = read().groups.filter(here);
    console.log(
      JSON.stringify(process.env.FAKE_AZ_IGNORE_FILTER ? all : all.filter((g) => g.tags && g.tags[k] === v)),
    );
    finish(0);
  } else if (args[0] === 'group' && args[1] === 'exists') {
    const name = args[args.indexOf('--name') + 1];
    console.log(read().groups.some((g) => g.name === name && here(g)) ? 'true' : 'false');
    finish(0);
  } else if (args[0] === 'group' && args[1] === 'delete') {
    const name = args[args.indexOf('--name') + 1];
    const s = read();
    const group = s.groups.find((g) => g.name === name && here(g));
    if (!group) {
      console.error(`ERROR: (ResourceGroupNotFound) Resource group '${name}' could not be found.`);
      finish(3);
    }
    group.properties = { provisioningState: 'Deleting' };
    group.deleteEndsAt = Date.now() + Number(process.env.FAKE_AZ_DELETE_MS ?? 0);
    fs.writeFileSync(state, JSON.stringify(s));
    finish(0);
  } else {
    console.error(`fake az: unknown command ${args.join(' ')}`);
    finish(2);
  }
} else {
  console.error(`fake-tool: unknown tool ${tool}`);
  finish(2);
}
