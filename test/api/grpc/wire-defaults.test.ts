/**
 * proto3 leaves a field at its default off the wire, and etcd's gogoproto code never writes one:
 * responses served through grpc-js (Lease, Maintenance, Cluster, Auth) must not either. Each
 * call goes to a real etcd 3.4 and to watchkv and is decoded without defaults filled in, so a
 * field written as `""`, `0` or `false` shows up as present; the two must have the same fields.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pairForSuite, type Target } from '../../support/etcd-pair.ts';
import { EtcdGrpc } from './grpc-client.ts';

const pair = pairForSuite(test);
const clients: EtcdGrpc[] = [];
test.after(() => {
  for (const c of clients) c.close();
});

function client(t: Target): EtcdGrpc {
  const c = new EtcdGrpc(t.url, {}, true);
  clients.push(c);
  return c;
}

/** The fields present on the wire, recursively; values only where they are the same by design. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === 'object' && !Buffer.isBuffer(v)) {
    return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'header').map(([k, x]) => [k, shape(x)]));
  }
  return typeof v;
}

async function sameFields(what: string, call: (c: EtcdGrpc) => Promise<unknown>): Promise<void> {
  const [e, w] = await Promise.all([call(client(pair.etcd)), call(client(pair.wk))]);
  assert.equal(shape(w), shape(e), what);
}

test('unary responses carry only the fields etcd puts on the wire', async () => {
  await sameFields('LeaseGrant', (c) => c.call('Lease', 'LeaseGrant', { TTL: 30, ID: 7001 }));
  await sameFields('LeaseGrant, TTL 0 (raised to the minimum)', (c) => c.call('Lease', 'LeaseGrant', { TTL: 0, ID: 7002 }));
  await sameFields('LeaseTimeToLive, unknown id', (c) => c.call('Lease', 'LeaseTimeToLive', { ID: 999, keys: true }));
  await sameFields('LeaseTimeToLive, id 0', (c) => c.call('Lease', 'LeaseTimeToLive', { ID: 0 }));
  await sameFields('LeaseLeases', (c) => c.call('Lease', 'LeaseLeases', {}));
  await sameFields('LeaseRevoke', (c) => c.call('Lease', 'LeaseRevoke', { ID: 7002 }));
  await sameFields('Alarm GET, none raised', (c) => c.call('Maintenance', 'Alarm', { action: 'GET' }));
  await sameFields('UserList, none', (c) => c.call('Auth', 'UserList', {}));
  await sameFields('MemberList', async (c) => {
    // Peer URLs differ by design (watchkv has no raft peers): compare the rest.
    const r = await c.call('Cluster', 'MemberList', {});
    for (const m of r.members) delete m.peerURLs;
    return r;
  });
});

test('a keep-alive of an unknown lease: ID only, TTL 0 left off the wire', async () => {
  const once = (c: EtcdGrpc): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const s = c.stream('Lease', 'LeaseKeepAlive');
      s.on('data', (d: unknown) => (s.cancel(), resolve(d)));
      s.on('error', (err: { code?: number }) => err.code !== 1 && reject(err));
      s.write({ ID: 4242 });
    });
  await sameFields('LeaseKeepAlive, unknown id', once);
});

test.run();
