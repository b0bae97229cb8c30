"""Drives two of OpenStack's etcd clients against one server, printing one JSON line per step;
test/e2e/openstack-clients.test.ts runs it against etcd 3.4 and watchkv and compares the lines.

- etcd3gw (Debian's python3-etcd3gw) speaks the JSON gateway with requests. It reads its
  streaming watch with iter_content(chunk_size=None) and parses each HTTP chunk as one whole JSON
  message: a response split over two chunks, or two in one, stops its watch. That is how simple
  gateway clients read the stream, so the script watches a value of `big` bytes too (argv).
- tooz (python3-tooz), the coordination library OpenStack services share, through its etcd3
  driver (python-etcd3, gRPC): groups, member capabilities, locks, and membership leases that
  lapse when a member stops heartbeating. (Its etcd3gw driver cannot start with Debian 12's
  etcd3gw: it passes an api_path that etcd3gw.client() does not take.)

argv: host port api_path (/v3/ or /v3beta/) big
"""
import json
import sys
import threading
import time

from etcd3gw import exceptions
from etcd3gw.client import Etcd3Client
from tooz import coordination

host, port, api_path, big = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
c = Etcd3Client(host=host, port=port, api_path=api_path, timeout=10)


def out(step, value):
    print(json.dumps([step, value], sort_keys=True, default=lambda o: o.decode() if isinstance(o, bytes) else repr(o)), flush=True)


def outcome(fn):
    """What a call ended with: its value, or the exception's class and the server's words."""
    try:
        return ['ok', fn()]
    except exceptions.Etcd3Exception as e:
        return [type(e).__name__, e.detail_text if hasattr(e, 'detail_text') else str(e)]
    except Exception as e:  # a gRPC status, or a client-side failure, is an outcome too
        if callable(getattr(e, 'code', None)) and callable(getattr(e, 'details', None)):
            return [str(e.code()), e.details()]
        return [type(e).__name__, str(e)]


def meta(kvs):
    """get(metadata=True)'s pairs, without the lease ids (random on etcd)."""
    return [[v.decode(), {k: m[k] for k in ('key', 'create_revision', 'mod_revision', 'version') if k in m}] for v, m in kvs]


def collect(events, n, timeout=5.0):
    """The first n events of a watch iterator, read on a thread so a stuck stream cannot hang us."""
    got = []
    done = threading.Event()

    def run():
        for e in events:
            got.append([e.get('type', 'PUT'), e['kv']['key'].decode(), e['kv'].get('value', b'').decode()[:40],
                        len(e['kv'].get('value', b''))])
            if len(got) == n:
                break
        done.set()

    threading.Thread(target=run, daemon=True).start()
    done.wait(timeout)
    return got


# --- etcd3gw's own calls ---------------------------------------------------------------------
out('status fields', sorted(c.status().keys()))
out('members', len(c.members()))
out('create', [c.create('/gw/a', '1'), c.create('/gw/a', '2')])
out('put', c.put('/gw/b', 'two'))
out('get', c.get('/gw/a'))
out('get missing', c.get('/gw/zz'))
out('get metadata', meta(c.get('/gw/b', metadata=True)))
out('replace', [c.replace('/gw/a', '1', 'one'), c.replace('/gw/a', '1', 'uno')])
for i in range(5):
    c.put('/gw/p/%d' % i, 'v%d' % i)
out('prefix', sorted(v.decode() for v, _ in c.get_prefix('/gw/p/')))
out('prefix descending', [v.decode() for v, _ in c.get_prefix('/gw/p/', sort_order='descend', sort_target='key')])
out('get_all', len(c.get_all()))
out('delete', [c.delete('/gw/b'), c.delete('/gw/b')])
out('delete prefix', c.delete_prefix('/gw/p/'))
out('txn', c.transaction({'compare': [{'key': 'L2d3L2E=', 'result': 'EQUAL', 'target': 'VALUE', 'value': 'b25l'}],
                          'success': [{'request_range': {'key': 'L2d3L2E='}}], 'failure': []})['succeeded'])
out('bad txn', outcome(lambda: c.transaction({'compare': [{'key': 'L2d3L2E=', 'target': 'NOPE'}]})))

lease = c.lease(30)
c.put('/gw/leased', 'x', lease=lease)
out('lease ttl', lease.ttl() > 25)
out('lease keys', lease.keys())
out('lease refresh', lease.refresh() > 25)
out('lease revoke', lease.revoke())
out('after revoke', [c.get('/gw/leased'), lease.refresh()])

# From the next revision: a watch created late (a loaded machine) still sees every event.
events, cancel = c.watch_prefix('/gw/w/', start_revision=int(c.status()['header']['revision']) + 1)
time.sleep(0.3)
for i, v in enumerate(['1', 'B' * big, '3']):
    c.put('/gw/w/%d' % i, v)
c.delete('/gw/w/0')
out('watch prefix', collect(events, 4))
cancel()

rev = int(c.status()['header']['revision'])
timer = threading.Timer(0.3, lambda: c.put('/gw/once', 'now'))
timer.start()
e = c.watch_once('/gw/once', timeout=5, start_revision=rev + 1)
out('watch once', [e['kv']['key'].decode(), e['kv']['value'].decode()])
out('watch once timeout', outcome(lambda: c.watch_once('/gw/never', timeout=0.5)))
events, cancel = c.watch('/gw/once', start_revision=rev - 2, prev_kv=True)
out('watch from revision', collect(events, 1))
cancel()

lock = c.lock('l1', ttl=30)
other = c.lock('l1', ttl=30)
out('lock', [lock.acquire(), other.acquire(), lock.is_acquired(), other.is_acquired()])
out('lock release', [other.release(), lock.release(), other.acquire(), other.release()])

# --- tooz (etcd3 driver, gRPC): groups, capabilities, locks, membership leases ----------------
url = 'etcd3://%s:%d?timeout=10&lock_timeout=3&membership_timeout=3' % (host, port)
a = coordination.get_coordinator(url, b'member-a')
b = coordination.get_coordinator(url, b'member-b')
a.start()
b.start()
out('create group', [outcome(lambda: a.create_group(b'g1').get()), outcome(lambda: b.create_group(b'g1').get())])
a.join_group(b'g1', b'cap-a').get()
b.join_group(b'g1', b'cap-b').get()
out('members', sorted(m.decode() for m in a.get_members(b'g1').get()))
out('capabilities', a.get_member_capabilities(b'g1', b'member-b').get().decode())
b.update_capabilities(b'g1', b'cap-b2').get()
out('capabilities updated', a.get_member_capabilities(b'g1', b'member-b').get().decode())
out('join twice', outcome(lambda: a.join_group(b'g1').get()))
out('delete non-empty group', outcome(lambda: a.delete_group(b'g1').get()))
la, lb = a.get_lock(b'/res'), b.get_lock(b'/res')
out('tooz lock', [la.acquire(blocking=False), lb.acquire(blocking=False)])
out('tooz lock heartbeat', a.heartbeat() > 0)
out('tooz lock handover', [la.release(), lb.acquire(blocking=False), lb.release()])
# b stops heartbeating: its membership lease (3 s) lapses and it drops out of the group.
deadline = time.time() + 15
while time.time() < deadline:
    a.heartbeat()
    if b'member-b' not in a.get_members(b'g1').get():
        break
    time.sleep(0.25)
out('after b lapsed', sorted(m.decode() for m in a.get_members(b'g1').get()))
# tooz's etcd3 driver keeps refreshing the lapsed lease, so b cannot join again with it.
out('b heartbeat', outcome(lambda: b.heartbeat() > 0))
out('b rejoins', outcome(lambda: b.join_group(b'g1', b'cap-b3').get()))
out('members again', sorted(m.decode() for m in a.get_members(b'g1').get()))
out('leave', [outcome(lambda: a.leave_group(b'g1').get()), outcome(lambda: b.leave_group(b'g1').get())])
out('leave twice', outcome(lambda: a.leave_group(b'g1').get()))
out('delete group', outcome(lambda: a.delete_group(b'g1').get()))
out('missing group', outcome(lambda: a.get_members(b'g1').get()))
out('stop', [outcome(a.stop), outcome(b.stop)])  # b's stop revokes its lapsed lease

# --- the prefix etcd 3.4 does not serve --------------------------------------------------------
old = Etcd3Client(host=host, port=port, api_path='/v3alpha/', timeout=10)
out('v3alpha', outcome(lambda: old.get('/gw/a')))
print('done', flush=True)
