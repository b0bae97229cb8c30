/**
 * The KV of upstream mode: a mirror of an etcd cluster's key range (mirror.ts), kept current by
 * the follower (upstream-follower.ts), with etcd's revisions. The watchable layer wraps it as it
 * wraps the local store: its commit notifications are the upstream's revisions, so watchers on
 * every transport see etcd's revisions and can move between nodes with start_revision.
 *
 * What is served where:
 *   - range, serializable, inside the mirrored range, at revision 0 or the mirror's → the mirror;
 *     any range at exactly the mirror's revision inside the range → the mirror (a fixed-revision
 *     read: the engine's state transfers read there);
 *   - every other range (linearizable, a past revision, outside the prefix) → etcd;
 *   - put, delete, txn, compact → etcd; a write then waits (bounded) until the mirror has its
 *     revision, so the writer reads and watches its own write through this node;
 *   - history (watchers catching up from before the node's recent window) → etcd's watch
 *     (etcd-history.ts).
 */
import { DEFAULTS } from '../config.ts';
import { isKvError, kvError } from '../errors.ts';
import type {
  AlarmMember,
  AlarmRequest,
  AlarmType,
  CommitListener,
  CompactResult,
  DeleteRangeRequest,
  DeleteRangeResult,
  Event,
  KeyValue,
  KV,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  ResetListener,
  RevisionChanges,
  TxnRequest,
  TxnResult,
} from '../mvcc/kv.ts';
import { isFromKeyEnd } from '../mvcc/key-range.ts';
import { deleteFrom, deleteTo, putFrom, putTo, rangeFrom, rangeTo, txnFrom, txnTo } from './etcd-codec.ts';
import type { EtcdClient } from './etcd-client.ts';
import { readUpstreamHistory } from './etcd-history.ts';
import { Mirror } from './mirror.ts';
import type { FollowerSink } from './upstream-follower.ts';

export interface UpstreamKvOptions {
  /** The mirrored prefix ('' = every key). */
  prefix: Buffer;
  writeVisibleWaitMs: number;
  requestTimeoutMs: number;
}

/** Does any write of the txn (either branch, nested too) start inside the mirrored range? */
function writesMirrored(t: TxnRequest, mirrors: (key: Buffer) => boolean): boolean {
  for (const op of [...t.success, ...t.failure]) {
    if ('put' in op && mirrors(op.put.key)) return true;
    if ('deleteRange' in op && mirrors(op.deleteRange.key)) return true;
    if ('txn' in op && writesMirrored(op.txn, mirrors)) return true;
  }
  return false;
}

/** The end of a prefix range, etcd's rule ("\0" = to the end of the keyspace). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.of(0);
}

export class UpstreamKv implements KV, FollowerSink {
  readonly mirror = new Mirror();
  /** The mirrored range [key, rangeEnd) as etcd takes it. */
  readonly key: Buffer;
  readonly rangeEnd: Buffer;
  private compactedAt = 0;
  private readonly commits = new Set<CommitListener>();
  private readonly resets = new Set<ResetListener>();
  /** Writers waiting for the mirror to reach their revision, oldest first. */
  private waiters: Array<{ revision: number; wake: () => void }> = [];
  private readonly o: UpstreamKvOptions;

  constructor(
    private readonly client: EtcdClient,
    options: Partial<UpstreamKvOptions> = {},
  ) {
    this.o = {
      prefix: options.prefix ?? Buffer.alloc(0),
      writeVisibleWaitMs: options.writeVisibleWaitMs ?? DEFAULTS.upstreamWriteVisibleWaitMs,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.upstreamRequestTimeoutMs,
    };
    this.key = this.o.prefix.length > 0 ? this.o.prefix : Buffer.of(0);
    this.rangeEnd = this.o.prefix.length > 0 ? prefixEnd(this.o.prefix) : Buffer.of(0);
  }

  // ---- FollowerSink: the upstream's revisions come in here ----

  load(kvs: KeyValue[], revision: number, relist: boolean): void {
    this.mirror.load(kvs, revision);
    if (relist) for (const l of this.resets) l(revision);
    this.wake();
  }

  commit(revision: number, events: Event[]): void {
    this.mirror.apply(revision, events);
    for (const l of this.commits) l(revision, events);
    this.wake();
  }

  progress(revision: number): void {
    this.mirror.advance(revision);
    // An empty commit moves the engine's published revision on (watch headers, bookmarks).
    for (const l of this.commits) l(revision, []);
    this.wake();
  }

  compacted(revision: number): void {
    if (revision <= this.compactedAt) return;
    this.compactedAt = revision;
  }

  revision(): number {
    return this.mirror.revision;
  }

  // ---- HistoryReader ----

  currentRevision(): number {
    return this.mirror.revision;
  }

  /** The highest compaction revision learned from etcd (0 until one is seen). */
  compactRevision(): number {
    return this.compactedAt;
  }

  async history(fromRevision: number, toRevision: number, options: { maxRevisions?: number; withPrevKv?: boolean } = {}): Promise<RevisionChanges[]> {
    if (fromRevision < this.compactedAt) throw kvError('ERR_COMPACTED');
    // Revision 1 is etcd's empty store: it has no events (kv.ts).
    if (fromRevision > toRevision || toRevision <= 1) return [];
    return readUpstreamHistory(this.client, { key: this.key, rangeEnd: this.rangeEnd }, fromRevision, toRevision, {
      maxRevisions: options.maxRevisions ?? Number.MAX_SAFE_INTEGER,
      timeoutMs: this.o.requestTimeoutMs * 2,
      // With a prefix, revisions with no event in the range exist: see etcd-history.ts rule 3.
      quietAnswers: this.o.prefix.length > 0 ? 10 : 0,
      onCompacted: (rev) => this.compacted(rev),
    });
  }

  // ---- KV ----

  async range(req: RangeRequest): Promise<RangeResult> {
    const rev = req.revision ?? 0;
    const local = this.inMirror(req) && (rev === this.mirror.revision || (req.serializable === true && rev === 0));
    if (local) return this.mirror.range(req);
    try {
      return rangeFrom(await this.client.call('KV', 'Range', rangeTo(req), true));
    } catch (err) {
      this.learnCompaction(err, rev);
      throw err;
    }
  }

  async put(req: PutRequest): Promise<PutResult> {
    const r = putFrom(await this.client.call('KV', 'Put', putTo(req), false));
    if (this.mirrors(req.key)) await this.visible(r.revision);
    return r;
  }

  async deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResult> {
    const r = deleteFrom(await this.client.call('KV', 'DeleteRange', deleteTo(req), false));
    if (r.deleted > 0 && this.mirrors(req.key)) await this.visible(r.revision);
    return r;
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    const r = txnFrom(await this.client.call('KV', 'Txn', txnTo(req), false));
    if (writesMirrored(req, (k) => this.mirrors(k))) await this.visible(r.revision);
    return r;
  }

  async compact(revision: number, physical?: boolean): Promise<CompactResult> {
    const res = await this.client.call('KV', 'Compact', { revision: String(revision), physical: physical === true }, false);
    this.compacted(revision);
    return { revision: Number(res?.header?.revision ?? 0) };
  }

  onCommit(listener: CommitListener): () => void {
    this.commits.add(listener);
    return () => this.commits.delete(listener);
  }

  onReset(listener: ResetListener): () => void {
    this.resets.add(listener);
    return () => this.resets.delete(listener);
  }

  /** The etcd member's backend size (etcd's Status); 0 when no member answers. */
  async dbSize(): Promise<number> {
    try {
      return Number((await this.client.call('Maintenance', 'Status', {}, true)).dbSize ?? 0);
    } catch {
      return 0;
    }
  }

  /** The cluster's alarms: etcd's own, listed, raised and disarmed there. */
  async alarm(req: AlarmRequest): Promise<AlarmMember[]> {
    const r = await this.client.call('Maintenance', 'Alarm', { action: req.action, memberID: req.memberId.toString(), alarm: req.alarm }, req.action === 'GET');
    const alarms = (r.alarms ?? []) as Array<{ memberID: string; alarm: AlarmType }>;
    return alarms.map((a) => ({ memberId: BigInt(a.memberID), alarm: a.alarm }));
  }

  async close(): Promise<void> {
    this.wake(true);
  }

  // ---- helpers ----

  /** Is the key inside the mirrored range? */
  private mirrors(key: Buffer): boolean {
    return key.subarray(0, this.o.prefix.length).equals(this.o.prefix);
  }

  /** Is the request's range inside the mirrored range? */
  private inMirror(req: RangeRequest): boolean {
    if (this.o.prefix.length === 0) return true;
    if (Buffer.compare(req.key, this.key) < 0) return false;
    const end = req.rangeEnd;
    if (end === undefined || end.length === 0) return req.key.subarray(0, this.o.prefix.length).equals(this.o.prefix);
    if (isFromKeyEnd(end)) return isFromKeyEnd(this.rangeEnd);
    return Buffer.compare(end, this.rangeEnd) <= 0;
  }

  /** etcd refused a read at `rev` as compacted: etcd compacted at least past it. */
  private learnCompaction(err: unknown, rev: number): void {
    if (isKvError(err, 'ERR_COMPACTED') && rev > 0) this.compacted(rev + 1);
  }

  /** Waits (bounded) until the mirror has published `revision`. */
  private visible(revision: number): Promise<void> {
    if (this.mirror.revision >= revision || this.o.writeVisibleWaitMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.o.writeVisibleWaitMs);
      this.waiters.push({
        revision,
        wake: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  private wake(all = false): void {
    if (this.waiters.length === 0) return;
    const rev = this.mirror.revision;
    const keep: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (all || w.revision <= rev) w.wake();
      else keep.push(w);
    }
    this.waiters = keep;
  }
}
