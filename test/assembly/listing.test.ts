// The task listing BuildArchive reads back: a line it cannot read fails the step, never a task
// silently left out of the archive and its manifest.
import { Readable } from 'node:stream';
import { readListing, toListed } from '../../lambdas/core/assembly/listing';
import { AssemblyError } from '../../lambdas/core/errors';
import type { ResultStore } from '../../lambdas/core/ports';
import { taskRecord } from './helpers';

const KEY = 'runs/7/assembly/tasks.jsonl';

/** A store holding only the listing, as `text` (none: no object at all). */
function storeWith(text: string | undefined): ResultStore {
  return {
    getStream: async () => (text === undefined ? undefined : Readable.from([Buffer.from(text)])),
  } as Partial<ResultStore> as ResultStore;
}

async function readAll(text: string | undefined): Promise<number[]> {
  const ids: number[] = [];
  for await (const t of readListing(storeWith(text), KEY)) ids.push(t.id);
  return ids;
}

const line = (index: number): string => JSON.stringify(toListed(taskRecord(7, index, {})));

describe('readListing', () => {
  it('reads every task in order and passes over blank lines', async () => {
    expect(await readAll(`${line(0)}\n\n${line(1)}\n`)).toEqual([700_001, 700_002]);
  });

  it('fails on a task it cannot read instead of leaving it out', async () => {
    const bad = JSON.stringify({ ...toListed(taskRecord(7, 1, {})), status: 'exploded' });
    await expect(readAll(`${line(0)}\n${bad}\n${line(2)}\n`)).rejects.toThrow(
      new AssemblyError(`the task listing ${KEY} has a bad task at line 2`),
    );
    await expect(readAll(`${line(0)}\n{"id": 7000\n`)).rejects.toThrow(/malformed JSON at line 2/);
    await expect(readAll(undefined)).rejects.toBeInstanceOf(AssemblyError);
  });
});
