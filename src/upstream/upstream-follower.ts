/**
 * Follows the etcd cluster: lists the mirrored range at a revision R, then watches it from R+1
 * and hands every upstream revision, in order, to its sink. The loop:
 *   1. list: page through the range at one revision R (the first page fixes R) → sink.load;
 *   2. watch from mirror revision + 1 on the current member, with prev_kv (the engine's events
 *      carry it) and progress_notify (etcd's per-watcher bookmarks, sent in order with the
 *      events, move the revision on where the range had no events);
 *   3. each response's events, grouped by revision (etcd sends whole revisions), → sink.commit;
 *   4. the stream failed (member down, leader change that took the member away): rotate to the
 *      next member, back off, go to 2 — from the last revision + 1, so nothing is lost or repeated;
 *   5. etcd canceled the watch because it compacted past us: go to 1 (a relist; the sink turns
 *      it into a reset of the engine's history, see kv.ts ResetListener).
 * Every `progressIntervalMs` it asks the member for its head revision (a progress request,
 * answered out of band; etcd 3.4 may answer it before events at or below it are sent), for the
 * lag metrics and /readyz only — never to move the mirror.
 */
import type { Event, KeyValue } from '../mvcc/kv.ts';
import { eventFrom, headerRevision, kvFrom } from './etcd-codec.ts';
import { sleep, type EtcdClient, type EtcdMsg } from './etcd-client.ts';
import type { UpstreamStatus } from './upstream-api.ts';

export interface FollowerSink {
  /** The whole range at `revision` (the first list, or a relist). */
  load(kvs: KeyValue[], revision: number, relist: boolean): void;
  /** One upstream revision's events, in operation order. */
  commit(revision: number, events: Event[]): void;
  /** Every event <= revision has been delivered (an etcd progress notification). */
  progress(revision: number): void;
  /** etcd compacted at least up to `revision`. */
  compacted(revision: number): void;
  /** The mirror's revision. */
  revision(): number;
}

export interface FollowerOptions {
  key: Buffer;
  rangeEnd: Buffer;
  listPageKeys: number;
  progressIntervalMs: number;
  /**
   * Count the answers to progress requests (etcd's global head) in the lag. Right when the whole
   * keyspace is mirrored (every etcd revision is one of ours); with a prefix the global head also
   * moves with other prefixes' writes, which the mirror never sees, so there the lag counts only
   * what the mirror's own watch has announced (see README, upstream mode).
   */
  globalHead: boolean;
  /** Logs one line per state change (connect, failure, relist). */
  log(level: 'info' | 'warn', fields: object, msg: string): void;
}

export class UpstreamFollower {
  private closed = false;
  private connected = false;
  private listed = false;
  private head = 0;
  private caughtUpAt = Date.now();
  private endpoint = '';
  private cancelCurrent: (() => void) | undefined;
  private readonly firstList: Promise<void>;
  private resolveFirst!: () => void;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: EtcdClient,
    private readonly sink: FollowerSink,
    private readonly o: FollowerOptions,
  ) {
    this.firstList = new Promise((r) => (this.resolveFirst = r));
  }

  /** Starts following; resolves once the first list is loaded (retrying until it is). */
  start(): Promise<void> {
    this.loop = this.run();
    return this.firstList;
  }

  status(now = Date.now()): UpstreamStatus {
    this.observe(now);
    const revision = this.sink.revision();
    const lagRevisions = Math.max(0, this.head - revision);
    const lagMs = this.connected && lagRevisions === 0 ? 0 : now - this.caughtUpAt;
    return { connected: this.connected, listed: this.listed, endpoint: this.endpoint, revision, headRevision: this.head, lagRevisions, lagSeconds: lagMs / 1000 };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelCurrent?.();
    this.resolveFirst();
    await this.loop?.catch(() => undefined);
  }

  private observe(now: number): void {
    if (this.connected && this.sink.revision() >= this.head) this.caughtUpAt = now;
  }

  private noteHead(rev: number): void {
    if (rev > this.head) this.head = rev;
    this.observe(Date.now());
  }

  private async run(): Promise<void> {
    let failures = 0;
    let needList = true;
    while (!this.closed) {
      if (needList) {
        try {
          await this.list();
          needList = false;
        } catch (err) {
          this.o.log('warn', { err: (err as Error).message, endpoint: this.client.endpoint() }, 'upstream: list failed, retrying');
          await sleep(this.client.backoffMs(failures++));
          continue;
        }
      }
      const outcome = await this.watch();
      this.connected = false;
      if (this.closed) break;
      if (outcome === 'compacted') {
        needList = true;
        continue;
      }
      if (outcome === 'ok') failures = 0;
      await sleep(this.client.backoffMs(failures++));
    }
  }

  /** Step 1: the range at one revision, in pages. */
  private async list(): Promise<void> {
    const kvs: KeyValue[] = [];
    let key = this.o.key;
    let at = 0;
    for (;;) {
      const res = await this.client.call('KV', 'Range', { key, range_end: this.o.rangeEnd, limit: String(this.o.listPageKeys), revision: String(at) }, true);
      if (at === 0) at = headerRevision(res);
      const page: KeyValue[] = (res.kvs ?? []).map(kvFrom);
      for (const kv of page) kvs.push(kv);
      if (!res.more || page.length === 0) break;
      key = Buffer.concat([page[page.length - 1]!.key, Buffer.of(0)]);
    }
    if (this.closed) return;
    const relist = this.listed;
    this.sink.load(kvs, at, relist);
    this.noteHead(at);
    this.o.log('info', { revision: at, keys: kvs.length, relist }, relist ? 'upstream: relisted after compaction' : 'upstream: listed');
    this.listed = true;
    this.resolveFirst();
  }

  /**
   * Steps 2-4: one watch stream until it fails. 'ok': it was established (so the next failure
   * starts a fresh backoff); 'failed': it never was; 'compacted': etcd compacted past us.
   */
  private watch(): Promise<'ok' | 'failed' | 'compacted'> {
    return new Promise((resolve) => {
      const { call, member } = this.client.stream('Watch', 'Watch');
      const endpoint = this.client.endpoint();
      let established = false;
      let done = false;
      let watchId = '';
      const timer = setInterval(() => {
        if (established) call.write({ progress_request: {} });
      }, this.o.progressIntervalMs);
      const end = (outcome: 'ok' | 'failed' | 'compacted', err?: Error): void => {
        if (done) return;
        done = true;
        this.connected = false;
        clearInterval(timer);
        this.cancelCurrent = undefined;
        call.removeAllListeners('data');
        call.on('error', () => undefined);
        call.cancel();
        if (outcome !== 'compacted' && !this.closed) {
          this.client.rotate(member);
          this.o.log('warn', { endpoint, err: err?.message, revision: this.sink.revision() }, 'upstream: watch lost, resuming on the next member');
        }
        resolve(established && outcome === 'failed' ? 'ok' : outcome);
      };
      this.cancelCurrent = () => end('failed');
      call.on('data', (m: EtcdMsg) => {
        const header = headerRevision(m);
        if (String(m.watch_id) === '-1') {
          if (this.o.globalHead) this.noteHead(header); // a progress-request answer: head only
          return;
        }
        // A canceled create (etcd refused it) counts as a failure, not as established.
        if (m.created && !m.canceled) {
          established = true;
          watchId = String(m.watch_id);
          this.connected = true;
          this.endpoint = endpoint;
          this.noteHead(header);
          return;
        }
        if (!m.created && String(m.watch_id) !== watchId) return;
        if (m.canceled) {
          const compact = Number(m.compact_revision ?? 0);
          if (compact > 0) {
            this.sink.compacted(compact);
            this.o.log('warn', { compactRevision: compact, revision: this.sink.revision() }, 'upstream: etcd compacted past the mirror, relisting');
            end('compacted');
          } else end('failed', new Error(`watch canceled: ${m.cancel_reason ?? ''}`));
          return;
        }
        const events: EtcdMsg[] = m.events ?? [];
        if (events.length === 0) {
          // A progress notification for our watcher: in order with the events, so safe.
          if (header > this.sink.revision()) this.sink.progress(header);
        } else {
          let group: Event[] = [];
          let rev = 0;
          for (const raw of events) {
            const ev = eventFrom(raw);
            if (ev.kv.modRevision !== rev && group.length > 0) {
              this.deliver(rev, group);
              group = [];
            }
            rev = ev.kv.modRevision;
            group.push(ev);
          }
          this.deliver(rev, group);
        }
        this.noteHead(header);
      });
      call.on('error', (err: Error) => end('failed', err));
      call.on('end', () => end('failed', new Error('watch stream ended')));
      const from = this.sink.revision() + 1;
      call.write({ create_request: { key: this.o.key, range_end: this.o.rangeEnd, start_revision: String(from), prev_kv: true, progress_notify: true } });
    });
  }

  private deliver(revision: number, events: Event[]): void {
    // A revision at or below the mirror's was already applied (never expected: defensive).
    if (revision <= this.sink.revision()) return;
    this.sink.commit(revision, events);
  }
}
