// The listen and stop of the tests' own HTTP servers (fake APIs, engines, registries, proxies):
// on a free port of 127.0.0.1, and stopped with their keep-alive connections cut.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on a free port of 127.0.0.1; answers that port. */
export async function listenLocal(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** Closes the server, its idle and busy connections too, so a test's end never waits on them. */
export async function stopServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}
