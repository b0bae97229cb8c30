/**
 * The HTTP ceiling of this machine: a bare fastify app whose routes parse the JSON body and answer
 * a constant etcd-shaped reply. Run as a child process: `node --import tsx bench/lib/fastify-ceiling.ts <port>`.
 * Whatever watchkv does beyond this (store, revisions, watch notify) is what its put path costs.
 */
import Fastify from 'fastify';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) throw new Error('usage: fastify-ceiling.ts <port>');

const reply = { header: { cluster_id: '1', member_id: '1', revision: '1', raft_term: '1' } };
const app = Fastify({ logger: false });
app.post('/v3/kv/put', async () => reply);
app.post('/v3/kv/range', async () => reply);
app.post('/v3/maintenance/status', async () => reply);
await app.listen({ host: '127.0.0.1', port });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
