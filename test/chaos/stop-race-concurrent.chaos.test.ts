// /run/stop racing the last complete (issue 10, chaos runs) in rounds that are truly concurrent:
// sent in the same tick, or released together at a gate on the store the handlers share. Either may
// win, but each round must be consistent: exactly one of the two settles the last task, the answers
// agree with what is stored, and the run ends with its archive, counters equal to a recount and a
// manifest that agrees. How the rounds went is printed at the end. The branches made to happen one
// by one: stop-race.chaos.test.ts.
import { gate, openTogether, removeGates } from './race-gates';
import { stopRaceRounds } from './stop-race-rounds';

const race = stopRaceRounds();
const { lastTaskOpen, sendComplete, sendStop, expectOneWinner } = race;

/** How the concurrent rounds went (either winner is fine): printed once they are over. */
const concurrent: string[] = [];
afterAll(() => {
  console.info(`stop-race: how the concurrent rounds went:\n  ${concurrent.join('\n  ')}`);
});

describe('concurrent: either may win, exactly one does', () => {
  it('sent in the same tick, in either order', async () => {
    for (const stopFirst of [false, true]) {
      const r = await lastTaskOpen(stopFirst ? 'ts' : 'tc');
      const [done, stop] = stopFirst
        ? await Promise.all([sendStop(), sendComplete(r)]).then(([s, d]) => [d, s] as const)
        : await Promise.all([sendComplete(r), sendStop()]);
      concurrent.push(`same tick: ${await expectOneWinner(r, done, stop)}`);
    }
  }, 90_000);

  it("released together at the last task's item: the complete's write against the stop's cancel", async () => {
    for (const type of ['ra', 'rb']) {
      const r = await lastTaskOpen(type);
      const completing = gate(
        race.stack.deps.store,
        'finishTask',
        "the complete's task write",
        (_run, _index, fence, fields) => fence !== null && fields.status === 'completed',
      );
      const cancelling = gate(
        race.stack.deps.store,
        'finishTask',
        "the stop's cancel of the task",
        (runId, _index, fence, fields) =>
          runId === r.runId && fence === null && fields.status === 'cancelled',
      );
      const answers = Promise.all([sendComplete(r), sendStop()]);
      // both were waiting at the same moment: opened in the same tick (each first in one round), the
      // store decides
      await (type === 'ra' ? openTogether(completing, cancelling) : openTogether(cancelling, completing));
      const [done, stop] = await answers;
      concurrent.push(`at the task item: ${await expectOneWinner(r, done, stop)}`);
      removeGates();
    }
  }, 90_000);

  it("released together at each one's first write: the complete's task write against the stop's run write", async () => {
    for (const type of ['wa']) {
      const r = await lastTaskOpen(type);
      const completing = gate(
        race.stack.deps.store,
        'finishTask',
        "the complete's task write",
        (_run, _index, fence, fields) => fence !== null && fields.status === 'completed',
      );
      const stopping = gate(
        race.stack.deps.store,
        'setRunStatus',
        "the stop's run write",
        (runId, _from, _to, fields) => runId === r.runId && fields?.stopped === true,
      );
      const answers = Promise.all([sendComplete(r), sendStop()]);
      await openTogether(completing, stopping);
      const [done, stop] = await answers;
      concurrent.push(`at the first writes: ${await expectOneWinner(r, done, stop)}`);
      removeGates();
    }
  }, 90_000);
});
