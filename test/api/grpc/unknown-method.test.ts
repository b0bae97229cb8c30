/**
 * A gRPC call to a path no service serves gets grpc-go's answer, as from etcd: UNIMPLEMENTED
 * `unknown service S` or `unknown method M for service S`, and RESOURCE_EXHAUSTED `malformed
 * method name: "/x"` for a path without a service. Sent raw over node:http2 to a real etcd 3.4
 * and to watchkv; the status and the grpc-message as sent (not decoded) must be the same.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http2 from 'node:http2';
import { pairForSuite } from '../../support/etcd-pair.ts';

const pair = pairForSuite(test);

/** grpc-status and the raw grpc-message of a call with an empty request message. */
function call(url: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    let out = '';
    const record = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] !== undefined) out = `${h['grpc-status']} ${h['grpc-message'] ?? ''}`;
    };
    req.on('response', record);
    req.on('trailers', record);
    req.resume();
    req.on('end', () => (session.close(), resolve(out)));
    req.on('error', (err) => (session.close(), reject(err)));
    req.end(Buffer.alloc(5));
  });
}

test('unknown services, unknown methods and malformed paths are answered as etcd answers them', async () => {
  const paths = ['/etcdserverpb.KV/Nope', '/etcdserverpb.Watch/Range', '/etcdserverpb.Nope/Range', '/grpc.health.v1.Health/Nope', '/nope', '/a/b/c', '/etcdserverpb.KV/'];
  for (const path of paths) {
    const [e, w] = await Promise.all([call(pair.etcd.url, path), call(pair.wk.url, path)]);
    assert.is(w, e, path);
  }
  assert.is(await call(pair.wk.url, '/etcdserverpb.KV/Nope'), '12 unknown method Nope for service etcdserverpb.KV');
  // A served method still answers (here etcd's error for a Range without a key, spaces as sent).
  assert.is(await call(pair.wk.url, '/etcdserverpb.KV/Range'), await call(pair.etcd.url, '/etcdserverpb.KV/Range'));
});

test.run();
