"""Drives Patroni's etcd3 DCS (Debian's `patroni` package) the way Patroni's HA loop does, against
one server, and prints one JSON line per step; test/e2e/patroni-etcd3.test.ts runs it against etcd
3.4 and watchkv and compares the lines.

Patroni speaks etcd's JSON gateway over HTTP/1.1 with urllib3: /version to pick the API prefix,
leases granted and kept alive, compare-and-swap through /kv/txn, and a streaming /watch read by
splitting chunks into JSON objects (patroni.utils.iter_response_objects). Each member keeps a
cache of the cluster's keys fed by that watch, so every `view` below is what the watch delivered.

argv: host:port scope [https cacert cert key] [user password]
"""
import json
import logging
import sys
import threading
import time

from patroni.dcs import get_dcs

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
host, scope = sys.argv[1], sys.argv[2]
rest = sys.argv[3:]
etcd3 = {'host': host}
if rest[:1] == ['https']:
    etcd3.update(protocol='https', cacert=rest[1], cert=rest[2], key=rest[3])
    rest = rest[4:]
if rest:
    etcd3.update(username=rest[0], password=rest[1])
TTL = 4  # seconds; etcd 3.4's shortest lease on its default election timeout is 3 s


def dcs(name):
    return get_dcs({'scope': scope, 'name': name, 'ttl': TTL, 'loop_wait': 1, 'retry_timeout': 3,
                    'namespace': '/service/', 'etcd3': dict(etcd3)})


def out(step, value):
    print(json.dumps({'step': step, 'value': value}, sort_keys=True), flush=True)


def view(d):
    c = d.get_cluster()
    return {
        'initialize': c.initialize,
        'leader': c.leader and c.leader.name,
        'leader_has_session': bool(c.leader and c.leader.session),
        'members': sorted(m.name for m in c.members),
        'member_data': {m.name: m.data for m in c.members},
        'config': c.config and c.config.data,
        'failover': c.failover and [c.failover.leader, c.failover.candidate],
        'sync': [c.sync.leader, sorted(c.sync.members)],
        'history': c.history and c.history.lines,
        'last_lsn': c.last_lsn,
    }


def settle(d, done, limit=5.0):
    """The view once the member's watch-fed cache shows `done`; the last view if it never does."""
    stop = time.time() + limit
    v = view(d)
    while not done(v) and time.time() < stop:
        time.sleep(0.01)
        v = view(d)
    return v


def timed_watch(d, timeout):
    started = time.time()
    woke = d.watch(None, timeout)
    return {'woke': bool(woke), 'before_timeout': time.time() - started < timeout - 0.5}


a, b = dcs('node1'), dcs('node2')
out('empty', view(a))
out('initialize a', a.initialize(create_new=True, sysid='7000000000000000001'))
out('initialize b', b.initialize(create_new=True, sysid='7000000000000000002'))
out('touch a', a.touch_member({'conn_url': 'postgres://127.0.0.1:5432/postgres',
                               'api_url': 'http://127.0.0.1:8008/patroni', 'state': 'running', 'role': 'master'}))
out('touch b', b.touch_member({'conn_url': 'postgres://127.0.0.1:5433/postgres',
                               'api_url': 'http://127.0.0.1:8009/patroni', 'state': 'running', 'role': 'replica'}))
out('acquire a', a.attempt_to_acquire_leader())
out('acquire b', bool(b.attempt_to_acquire_leader()))
out('config', a.set_config_value(json.dumps({'ttl': TTL, 'loop_wait': 1,
                                             'postgresql': {'parameters': {'max_connections': 100}}})))
out('history', a.set_history_value(json.dumps([[1, 25165984, 'no recovery target specified']])))
a.write_leader_optime(25166112)
out('sync', a.write_sync_state('node1', ['node2'], None) is not None)
out('view b', settle(b, lambda v: v['sync'][0] == 'node1' and v['last_lsn'] == 25166112))

index = b.get_cluster().config.index
out('config cas stale', bool(b.set_config_value(json.dumps({'ttl': 9}), index=str(int(index) - 1))))
out('config cas fresh', b.set_config_value(json.dumps({'ttl': TTL, 'loop_wait': 1}), index=index))
out('failover', b.manual_failover('node1', 'node2'))
out('update leader a', a.update_leader(25166200))
out('view a', settle(a, lambda v: v['failover'] is not None and v['last_lsn'] == 25166200))

# node2 waits on its watch while node1 gives the leader key up.
threading.Timer(0.8, lambda: a.delete_leader(25166300)).start()
out('watch b sees release', timed_watch(b, 3.5))
out('after release', settle(b, lambda v: v['leader'] is None and v['last_lsn'] == 25166300))
out('acquire b', b.attempt_to_acquire_leader())
out('acquire a', bool(a.attempt_to_acquire_leader()))
out('leader a sees', settle(a, lambda v: v['leader'] == 'node2')['leader'])

# Neither renews its lease now: both lapse after the TTL, which removes the leader key and both
# member keys; node1's watch wakes on the leader key's removal.
a.event.clear()  # set by node2's takeover, which node1 has already seen
started = time.time()
woke = a.watch(None, TTL + 6)
out('watch a sees expiry', {'woke': bool(woke), 'after_ttl': time.time() - started > TTL - 3})
v = settle(a, lambda v: v['leader'] is None and not v['members'], limit=TTL + 6)
out('after expiry', {'leader': v['leader'], 'members': v['members']})
# A keepalive of the lapsed lease fails; Patroni grants a new one and takes the key with it.
out('acquire a again', a.attempt_to_acquire_leader())
out('leader b sees', settle(b, lambda v: v['leader'] == 'node1')['leader'])
out('cancel init', a.cancel_initialization())
out('delete cluster', a.delete_cluster())
out('final', settle(a, lambda v: v['initialize'] is None and v['config'] is None and not v['members']))
print('done', flush=True)
