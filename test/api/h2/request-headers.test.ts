/**
 * Request header checks of the own HTTP/2 layer (src/api/h2/request-headers.ts), against
 * RFC 9113 §8.3 and node:http2's header object: what is refused, and how repeats are joined.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { requestHeaders } from '../../../src/api/h2/request-headers.ts';

const base: Array<[string, string]> = [
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', '/etcdserverpb.KV/Put'],
  [':authority', 'h'],
];

test('malformed requests are refused', () => {
  const cases: Array<[string, Array<[string, string]>]> = [
    ['a pseudo-header after a regular one', [...base.slice(0, 3), ['x', '1'], [':authority', 'h']]],
    ['an unknown pseudo-header', [...base, [':status', '200']]],
    ['a repeated pseudo-header', [...base, [':path', '/again']]],
    ['an uppercase name', [...base, ['Content-Type', 'application/grpc']]],
    ['a connection-specific header', [...base, ['connection', 'keep-alive']]],
    ['te other than trailers', [...base, ['te', 'gzip']]],
    ['no :path', base.filter(([n]) => n !== ':path')],
    ['no :method', base.filter(([n]) => n !== ':method')],
  ];
  for (const [what, fields] of cases) assert.is(requestHeaders(fields), undefined, what);
});

test('repeats are joined as node joins them; te: trailers is allowed', () => {
  const h = requestHeaders([...base, ['te', 'trailers'], ['x-a', '1'], ['x-a', '2'], ['cookie', 'a=1'], ['cookie', 'b=2'], ['set-cookie', 's=1']])!;
  assert.is(h[':path'], '/etcdserverpb.KV/Put');
  assert.is(h['x-a'], '1, 2');
  assert.is(h.cookie, 'a=1; b=2');
  assert.equal(h['set-cookie'], ['s=1']);
  assert.is(h.te, 'trailers');
});

test.run();
