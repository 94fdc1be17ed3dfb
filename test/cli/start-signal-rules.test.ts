// The rules of a quit of `benchfleet start` outside the watch (StartSignals, cli/lib/start-signals.ts)
// on a stand-in emitter: a first Ctrl-C or SIGTERM waits for the step in flight, cleans up and exits
// 130 or 143, and starts no new step; a second one quits at once, naming what may be left up (a
// second SIGHUP does not); disposed, it answers nothing. start-signals.test.ts drives the real CLI.
import { EventEmitter } from 'node:events';
import { StartSignals } from '../../cli/lib/start-signals';

describe('StartSignals', () => {
  function setup() {
    const target = new EventEmitter();
    const said: string[] = [];
    const exits: number[] = [];
    let exited: () => void = () => undefined;
    const exitedP = new Promise<void>((r) => {
      exited = r;
    });
    const signals = new StartSignals({
      target,
      say: (l) => said.push(l),
      exit: (code) => {
        exits.push(code);
        exited();
      },
    });
    return { target, said, exits, exitedP, signals };
  }

  it('waits for the step in flight, cleans up, exits 143 on SIGTERM, and parks the main flow', async () => {
    const { target, said, exits, exitedP, signals } = setup();
    const order: string[] = [];
    signals.guard({
      now: () => 'tearing down',
      cleanUp: async () => {
        order.push('clean-up');
      },
      leftUp: () => 'fleet A may be left up',
    });
    let finish: (v: string) => void = () => undefined;
    const main = signals.step(
      () =>
        new Promise<string>((r) => {
          finish = r;
        }),
    );
    let delivered = false;
    void main.then(() => {
      delivered = true;
    });
    target.emit('SIGTERM');
    expect(said.join('\n')).toContain('Terminated: tearing down (a second SIGINT or SIGTERM quits at once).');
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]); // the step (its tools) has not ended yet
    finish('done');
    order.push('step ended');
    await exitedP;
    expect(order).toEqual(['step ended', 'clean-up']);
    expect(exits).toEqual([143]);
    expect(delivered).toBe(false);
    let started = false;
    void signals.step(async () => {
      started = true;
    });
    expect(started).toBe(false); // no new step once quitting
  });

  it('quits at once on a second Ctrl-C, naming what may be left up; a second SIGHUP does not', () => {
    const { target, said, exits, signals } = setup();
    signals.guard({
      now: () => 'tearing down',
      cleanUp: () => new Promise(() => undefined),
      leftUp: () => 'X is up',
    });
    target.emit('SIGHUP');
    target.emit('SIGHUP'); // a closing terminal sends it twice
    expect(exits).toEqual([]);
    target.emit('SIGINT');
    expect(exits).toEqual([130]);
    expect(said.at(-1)).toBe('\nInterrupted: quitting at once. X is up');
  });

  it('answers nothing once disposed, and removes every listener it added', () => {
    const { target, exits, signals } = setup();
    signals.guard({ now: () => 'bye', leftUp: () => '' });
    signals.guard({ now: () => 'bye again', leftUp: () => '' }); // a new phase, the same listeners
    expect(target.listenerCount('SIGINT')).toBe(1);
    signals.dispose();
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) expect(target.listenerCount(s)).toBe(0);
    target.emit('SIGINT');
    expect(exits).toEqual([]);
  });
});
