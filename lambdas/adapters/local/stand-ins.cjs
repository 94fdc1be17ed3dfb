// The local stand-ins' own process: dynalite (DynamoDB) and s3rver (S3), as real AWS services are
// not in the orchestrator's process either. This keeps their CPU off the local API's event loop
// (on 2 cores they took about a third of it). Plain CommonJS on purpose: it only loads the two
// servers, so it starts in a fresh `node` without a TypeScript loader, under tsx and jest alike.
//
// Protocol (IPC with the parent, services.ts): argv[2] is JSON {dynalite, dynamoPort, s3, s3Port};
// the child answers {type: 'ready', dynamoPort, s3Port} or {type: 'failed', message} and then
// obeys {type: 'stopS3' | 'startS3' | 'stop', id}, answering {type: 'done', id} or
// {type: 'failed', id, message}. It outlives no parent: a lost IPC channel ends it at once, which
// also releases dynalite's LevelDB lock for the next local server on the same data dir.
'use strict';
const dynalite = require('dynalite');
const S3rver = require('s3rver');

const config = JSON.parse(process.argv[2] ?? '{}');
const send = (msg) => {
  if (process.connected) process.send(msg);
};
// The parent decides when the stand-ins stop: Ctrl-C (and a closing terminal's SIGHUP) reaches the
// whole process group, and the parent may still have writes to make while it shuts down.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
process.on('SIGHUP', () => undefined);
process.on('disconnect', () => process.exit(0));

let ddbServer;
let s3rver;

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server.address().port));
  });
}

async function startS3(port) {
  // a new instance each time: a closed s3rver has closed its logger and cannot run again
  const next = new S3rver({ ...config.s3, port });
  const address = await next.run();
  s3rver = next;
  return address.port;
}

async function stopS3() {
  const running = s3rver;
  s3rver = undefined;
  if (!running) return;
  const closed = running.close();
  // close() alone waits for kept-alive sockets, which would go on serving through an "outage"
  running.httpServer?.closeAllConnections();
  await closed;
}

/**
 * dynalite opens its LevelDB only at the first request, so on a data dir another process holds it
 * would report ready and then crash ("Database is closed"): open it once here first, and say why.
 */
async function checkDynamoPath(path) {
  if (!path) return;
  const { Level } = require(require.resolve('level', { paths: [require.resolve('dynalite')] }));
  const probe = new Level(path);
  try {
    await probe.open();
  } catch (err) {
    throw new Error(
      `the local DynamoDB data in ${path} cannot be opened (${err?.cause?.message ?? err?.message}): ` +
        'another benchfleet local is probably using this data dir; stop it or use another --data-dir',
    );
  } finally {
    await probe.close().catch(() => undefined);
  }
}

const handlers = {
  stopS3,
  startS3: async () => {
    if (!s3rver) await startS3(config.s3Port);
  },
  stop: async () => {
    await stopS3();
    if (ddbServer) {
      ddbServer.closeAllConnections?.();
      await new Promise((resolve) => ddbServer.close(() => resolve()));
    }
  },
};

process.on('message', (msg) => {
  const handler = handlers[msg?.type];
  if (!handler) return send({ type: 'failed', id: msg?.id, message: `unknown request ${msg?.type}` });
  handler().then(
    () => {
      send({ type: 'done', id: msg.id });
      if (msg.type === 'stop') process.disconnect();
    },
    (err) => send({ type: 'failed', id: msg.id, message: String(err?.message ?? err) }),
  );
});

(async () => {
  await checkDynamoPath(config.dynalite?.path);
  ddbServer = dynalite(config.dynalite);
  const dynamoPort = await listen(ddbServer, config.dynamoPort ?? 0);
  config.s3Port = await startS3(config.s3Port ?? 0);
  send({ type: 'ready', dynamoPort, s3Port: config.s3Port });
})().catch((err) => {
  send({ type: 'failed', message: `${err?.code ? `${err.code}: ` : ''}${err?.message ?? err}` });
  process.exit(1);
});
