// The signal rules of `benchfleet local` (cli/lib/local-signals.ts), on a stand-in emitter.
import { EventEmitter } from 'node:events';
import { LocalSignals } from '../../cli/lib/local-signals';

function setup(opts: { runnersMs?: number; shutdownMs?: number } = {}) {
  const target = new EventEmitter();
  const exits: number[] = [];
  const said: string[] = [];
  const order: string[] = [];
  let exited: () => void = () => undefined;
  const exitedP = new Promise<void>((r) => {
    exited = r;
  });
  const signals = new LocalSignals({
    say: (l) => said.push(l),
    target,
    exit: (code) => {
      exits.push(code);
      exited();
    },
    ...opts,
  });
  return { target, exits, said, order, signals, exitedP };
}

it('runs the gentle action on a first Ctrl-C and quits on the second: runners, shutdown, cleanup, 130', async () => {
  const { target, exits, order, signals, exitedP } = setup();
  signals.steps.stopRunners = async () => {
    order.push('runners');
  };
  signals.steps.shutdown = async () => {
    order.push('shutdown');
  };
  signals.steps.cleanup = () => order.push('cleanup');
  signals.onFirstInterrupt(() => order.push('gentle'));
  target.emit('SIGINT');
  expect(order).toEqual(['gentle']);
  expect(signals.quitting).toBeUndefined();
  target.emit('SIGINT');
  expect(signals.quitting).toBe('SIGINT');
  await exitedP;
  expect(order).toEqual(['gentle', 'runners', 'shutdown', 'cleanup']);
  expect(exits).toEqual([130]);
  target.emit('SIGTERM'); // once quitting, one more signal exits at once
  expect(exits).toEqual([130, 143]);
});

it('quits on SIGTERM at once, exiting 143, and bounds the wait for stuck runners', async () => {
  const { target, exits, said, order, signals, exitedP } = setup({ runnersMs: 50, shutdownMs: 50 });
  signals.onFirstInterrupt(() => order.push('gentle'));
  signals.steps.stopRunners = () => new Promise(() => undefined); // never done
  signals.steps.cleanup = () => order.push('cleanup');
  target.emit('SIGTERM');
  await exitedP;
  expect(order).toEqual(['cleanup']);
  expect(exits).toEqual([143]);
  expect(said.join('\n')).toContain('gave up waiting for the runners to stop after 0.05 s');
});

it('counts each phase afresh: a Ctrl-C used by the run does not make --keep quit', async () => {
  const { target, exits, signals } = setup();
  signals.onFirstInterrupt(() => undefined); // the run phase
  target.emit('SIGINT');
  signals.onFirstInterrupt(undefined); // the run ended
  const waiting = signals.nextInterrupt(); // --keep: stay up until Ctrl-C
  target.emit('SIGINT');
  await waiting;
  expect(signals.quitting).toBeUndefined();
  expect(exits).toEqual([]);
});

it('removes every listener it added', () => {
  const { target, signals } = setup();
  expect(target.listenerCount('SIGINT')).toBe(1);
  expect(target.listenerCount('SIGTERM')).toBe(1);
  signals.nextInterrupt();
  signals.dispose();
  expect(target.listenerCount('SIGINT')).toBe(0);
  expect(target.listenerCount('SIGTERM')).toBe(0);
});
