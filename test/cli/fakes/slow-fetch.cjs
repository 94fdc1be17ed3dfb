// Preloaded (NODE_OPTIONS=--require) into a `benchfleet start` under test, to hold it in one phase
// until the test signals it:
// - FAKE_STALL_ARCHIVE=1: the run's archive (results.tar.gz) answers with its headers and the
//   first half of its bytes, then nothing more, so the CLI stays in the middle of unpacking it
//   (`slow-fetch: the archive download was cancelled` on stderr when the CLI gives it up);
// - FAKE_HOLD_START_MS=<ms>: POST /run/start reaches the API (the run starts), but its answer is
//   held back that long after `slow-fetch: holding the answer of POST /run/start` on stderr.
'use strict';

const realFetch = globalThis.fetch;
globalThis.fetch = async function slowFetch(url, init) {
  const res = await realFetch(url, init);
  const holdMs = Number(process.env.FAKE_HOLD_START_MS ?? 0);
  if (holdMs > 0 && init?.method === 'POST' && String(url).endsWith('/run/start')) {
    process.stderr.write('slow-fetch: holding the answer of POST /run/start\n');
    await new Promise((r) => setTimeout(r, holdMs));
    return res;
  }
  if (!process.env.FAKE_STALL_ARCHIVE || !String(url).includes('results.tar.gz') || !res.ok) return res;
  const bytes = new Uint8Array(await res.arrayBuffer());
  const half = bytes.subarray(0, Math.floor(bytes.length / 2));
  let sent = false;
  const body = new ReadableStream({
    pull(controller) {
      if (sent) return new Promise(() => undefined); // the rest never comes
      sent = true;
      controller.enqueue(half);
    },
    cancel() {
      process.stderr.write('slow-fetch: the archive download was cancelled\n');
    },
  });
  return new Response(body, { status: res.status, headers: res.headers });
};
