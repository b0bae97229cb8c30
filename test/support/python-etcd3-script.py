"""The same script against etcd and watchkv through python-etcd3 (Debian python3-etcd3, grpcio's
C-core gRPC stack): it prints what a user of the library sees; the test compares the two runs.
Arguments: host port [ca.crt client.crt client.key] (the last three for TLS).
Ids differ between servers and are printed only as facts about them (non-zero, equal to ...)."""
import sys
import threading

import etcd3

host, port = sys.argv[1], int(sys.argv[2])
# Optional: CA, client certificate and key files, for a server with TLS and --client-cert-auth.
tls = dict(zip(('ca_cert', 'cert_cert', 'cert_key'), sys.argv[3:6]))
c = etcd3.client(host=host, port=port, timeout=10, **tls)
out = print

st = c.status()
out('status', st.version, st.db_size > 0, st.leader.id == st.leader.id)

c.put('/py/a', '1')
c.put('/py/b', '2')
value, meta = c.get('/py/a')
out('get', value, meta.version, meta.create_revision == meta.mod_revision)
out('get missing', c.get('/py/none'))
out('prefix', [(m.key, v) for v, m in c.get_prefix('/py/', sort_order='descend')])
out('range', [(m.key, v) for v, m in c.get_range('/py/a', '/py/c')])
out('all keys', sorted(m.key for _, m in c.get_all()))

t = c.transactions
ok, responses = c.transaction(compare=[t.value('/py/a') == '1', t.version('/py/b') > 0],
                              success=[t.put('/py/a', '10'), t.get('/py/b')], failure=[t.delete('/py/a')])
out('txn success', ok, len(responses))
ok, _ = c.transaction(compare=[t.value('/py/a') == 'nope'], success=[], failure=[t.put('/py/f', 'failed')])
out('txn failure', ok, c.get('/py/f')[0])
out('replace', c.replace('/py/a', b'10', b'11'), c.replace('/py/a', b'10', b'12'), c.get('/py/a')[0])
out('put_if_not_exists', c.put_if_not_exists('/py/new', 'n'), c.put_if_not_exists('/py/new', 'm'))

lease = c.lease(30)
c.put('/py/leased', 'x', lease=lease)
out('lease', 0 < lease.remaining_ttl <= 30, lease.granted_ttl, [k for k in lease.keys])
out('refresh', [r.TTL for r in lease.refresh()])
lease.revoke()
out('after revoke', c.get('/py/leased'))

events = []
done = threading.Event()
def on_event(response):
    for ev in response.events:
        events.append((type(ev).__name__, ev.key, ev.value))
    if len(events) >= 3:
        done.set()
watch_id = c.add_watch_prefix_callback('/py/w/', on_event)
c.put('/py/w/1', 'one')
c.put('/py/w/1', 'uno')
c.delete('/py/w/1')
done.wait(10)
c.cancel_watch(watch_id)
out('watch', events)

start = c.put('/py/h', 'v1').header.revision
c.put('/py/h', 'v2')
history, cancel = c.watch('/py/h', start_revision=start)
seen = [next(history).value, next(history).value]
cancel()
out('watch from revision', seen)

out('delete', c.delete('/py/b'), c.delete('/py/b'))
out('delete prefix', c.delete_prefix('/py/w/').deleted, c.delete_prefix('/py/').deleted)

lock = c.lock('pylock', ttl=10)
out('lock', lock.acquire(timeout=5), lock.is_acquired())
other = c.lock('pylock', ttl=10)
# (Not other.acquire() while held: python-etcd3 0.12's retry wait breaks on Debian's tenacity.)
out('lock key', [m.key.startswith(b'/locks/pylock') for _, m in c.get_prefix('/locks/')])
lock.release()
out('lock after release', other.acquire(timeout=5))
other.release()

members = list(c.members)
out('members', len(members), [m.name != '' for m in members], [len(m.client_urls) for m in members])
try:
    c.compact(10 ** 9)
    out('compact future', 'accepted')
except Exception as e:  # grpc.RpcError: the status a Python user handles
    out('compact future', e.code().name, e.details())
rev = c.put('/py/c', 'x').header.revision
c.compact(rev)
try:
    c.compact(rev - 1)
except Exception as e:
    out('compact again', e.code().name, e.details())
out('done')
