/**
 * The KV contract (test/contracts/kv-contract.ts) through a real server's etcd JSON gateway
 * (/v3/kv/*), via the HttpKv adapter: the routes' parsing and encoding, and the error map's
 * statuses and messages, must keep every answer and error of the store. A fresh in-memory server
 * per test, so revisions start at 1.
 */
import { kvContract } from '../contracts/kv-contract.ts';
import { HttpKv } from '../support/kv-over-http.ts';
import { startTestServer } from '../support/test-server.ts';

kvContract(
  'JSON gateway',
  async () => {
    const server = await startTestServer({}, { memory: true });
    return { kv: new HttpKv(server.url), startRevision: 1, cleanup: () => server.stop() };
  },
  { commits: false },
);
