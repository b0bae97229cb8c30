import { join } from 'node:path';
import type { Backend, BackendSnapshot, BatchOp } from '../backend/backend.ts';
import { DEFAULTS } from '../config.ts';
import { isKvError, kvError, type WatchKvError } from '../errors.ts';
import { CommitQueue, type PendingCommit } from './commit-queue.ts';
import { deleteCompacted, encodeMetaRevision } from './compaction.ts';
import { readHistory } from './history-read.ts';
import { hashBackend, hashKv } from './kv-hash.ts';
import { checkpointMeta, encodeCheckpoint, fileCheckpointStore, type CheckpointStore } from './index-checkpoint.ts';
import { restoreIndex, type RestoreProgress } from './index-restore.ts';
import type { KeyAt, KeyIndex } from './key-index.ts';
import type { LeaseHook, LeaseHost, LeaseTxn } from './lease-hook.ts';
import { attachedKeys, scanLeaseRecords, scanPrefixRecords } from './lease-records.ts';
import type { AuthHost } from './auth-host.ts';
import { AUTH_PREFIX, decodeRecord, META_INDEX_CHECKPOINT, META_SCHEDULED_COMPACT, recordKey } from './kv-codec.ts';
import { AlarmStore, META_ALARMS, type WriteKind } from './alarm-store.ts';
import { LEASE_COST_BYTES, putCost, SpaceQuota, txnCost } from './space-quota.ts';
import type {
  AlarmMember,
  AlarmRequest,
  CommitListener,
  CompactResult,
  DeleteRangeRequest,
  DeleteRangeResult,
  KeyValue,
  KvHash,
  KV,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  RevisionChanges,
  TxnRequest,
  TxnResult,
} from './kv.ts';
import { rangeQuery, type ValueSource } from './range-query.ts';
import { revisionKey } from './revision.ts';
import type { TreeIndex } from './tree-index.ts';
import { readStoreState } from './store-restore.ts';
import { checkTxnRequest } from './txn-check.ts';
import { WriteTxn } from './write-txn.ts';

export interface StoreOptions {
  maxTxnOps: number;
  maxRequestBytes: number;
  compactionBatchRecords: number;
  scanBatchRecords: number;
  /**
   * Where the index checkpoint lives (written at a clean close, loaded at open; see
   * index-checkpoint.ts). Default: a file in the backend's directory when it has one; null: none.
   */
  checkpoint: CheckpointStore | null;
  /** bytes: the space quota (etcd's --quota-backend-bytes); see space-quota.ts. */
  quotaBackendBytes: number;
  quotaSizeRefreshMs: number;
  /** The member id a NOSPACE alarm raised by this store is filed under (the server's). */
  memberId: bigint;
  /** Told every few seconds how a long open is going, and once when it is done. */
  onRestoreProgress?: (p: RestoreProgress) => void;
}

/** The checkpoint file's name inside the backend's directory. */
export const CHECKPOINT_FILE = 'watchkv-index.ckpt';

/** Opens the backend and the store on it; the store owns the backend from then on. */
export async function openKvStore(backend: Backend, options: Partial<StoreOptions> = {}): Promise<KvStore> {
  await backend.open();
  try {
    const store = new KvStore(backend, {
      maxTxnOps: options.maxTxnOps ?? DEFAULTS.maxTxnOps,
      maxRequestBytes: options.maxRequestBytes ?? DEFAULTS.maxRequestBytes,
      compactionBatchRecords: options.compactionBatchRecords ?? DEFAULTS.compactionBatchRecords,
      scanBatchRecords: options.scanBatchRecords ?? DEFAULTS.scanBatchRecords,
      quotaBackendBytes: options.quotaBackendBytes ?? DEFAULTS.quotaBackendBytes,
      quotaSizeRefreshMs: options.quotaSizeRefreshMs ?? DEFAULTS.quotaSizeRefreshMs,
      memberId: options.memberId ?? 0n,
      checkpoint: options.checkpoint !== undefined ? options.checkpoint : backend.dir ? fileCheckpointStore(join(backend.dir, CHECKPOINT_FILE)) : null,
      ...(options.onRestoreProgress ? { onRestoreProgress: options.onRestoreProgress } : {}),
    });
    await store.restore();
    return store;
  } catch (err) {
    await backend.close();
    throw err;
  }
}

/** A consistent copy source: every backend record as of `revision` (see KvStore.snapshot). */
export interface StoreSnapshot {
  revision: number;
  compactRevision: number;
  records: BackendSnapshot;
}

type State = 'opening' | 'open' | 'recovering' | 'closed';

/**
 * The MVCC store. Writes are serialised (one txn runs at a time against the newest applied
 * state) and made durable by group commit; reads are served at the durable revision.
 *
 *   appliedRev  newest revision in the in-memory index (may still be on its way to disk)
 *   durableRev  newest revision on disk: readers, watchers and acknowledgements never go past it
 *   compactRev  reads below it fail
 *
 * Invariant: compactRev <= durableRev <= appliedRev, and every revision in (durableRev,
 * appliedRev] sits in `unflushed` and in the commit queue.
 */
export class KvStore implements KV, ValueSource, LeaseHost, AuthHost {
  index!: TreeIndex;
  private state: State = 'opening';
  private appliedRev = 1;
  private durableRev = 1;
  private compactRev = 0;
  /** False until the first compaction (etcd starts at -1, so compact(0) is accepted once). */
  private compactedOnce = false;
  /** Kvs of revisions not yet on disk, by "main.sub": history reads inside txns need them. */
  private readonly unflushed = new Map<string, KeyValue>();
  private readonly queue: CommitQueue;
  /** Serialises txn execution; each txn chains on the previous one. */
  private txnLock: Promise<unknown> = Promise.resolve();
  /** Serialises physical compactions. */
  private compaction: Promise<unknown> = Promise.resolve();
  private readonly commitListeners = new Set<CommitListener>();
  private recovery: Promise<void> | undefined;
  /** The lessor's view of attachments; told of every lease change under the txn lock. */
  private leaseHook: LeaseHook | undefined;
  /**
   * Why the last batch failed to reach the disk, until a probe (an empty backend write) shows the
   * backend accepts writes again. While it is set, each write probes first and fails with this
   * error's kind without touching the index, so a disk that stays full costs one index rebuild
   * (for the batch that ran ahead of the disk), not one per refused write.
   */
  private writeFailure: WatchKvError | undefined;
  /** Raised alarms, and the space quota that raises NOSPACE (alarm-store.ts, space-quota.ts). */
  private readonly alarms = new AlarmStore();
  private readonly quota: SpaceQuota;

  constructor(
    private readonly backend: Backend,
    private readonly options: StoreOptions,
  ) {
    this.queue = new CommitQueue(backend, {
      durable: (commits) => this.publish(commits),
      failed: (err) => this.recover(err),
    });
    this.quota = new SpaceQuota({ quotaBytes: options.quotaBackendBytes, sizeRefreshMs: options.quotaSizeRefreshMs, measure: () => backend.approximateSize() });
  }

  // ---- lifecycle ----

  /** Checks the directory is ours, rebuilds the index and resumes an interrupted compaction. */
  async restore(): Promise<void> {
    const st = await readStoreState(this.backend, {
      scanBatchRecords: this.options.scanBatchRecords,
      checkpoint: this.options.checkpoint,
      ...(this.options.onRestoreProgress ? { onProgress: this.options.onRestoreProgress } : {}),
    });
    this.index = st.index;
    this.compactRev = st.compactRev;
    this.compactedOnce = st.compactedOnce;
    this.appliedRev = this.durableRev = st.revision;
    if (st.compactionUnfinished || !st.indexCompacted) {
      const keep = this.index.compact(st.compactRev);
      if (st.compactionUnfinished) this.schedulePhysicalCompaction(st.compactRev, keep);
    }
    this.alarms.load(await this.backend.get(META_ALARMS));
    await this.quota.refresh();
    this.state = 'open';
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    await this.txnLock.catch(() => {});
    const drained = await this.queue.barrier().then(() => true, () => false);
    await this.compaction.catch(() => {});
    await this.recovery;
    // Only an index that is exactly what the disk holds may be checkpointed.
    if (wasOpen && drained && this.appliedRev === this.durableRev) await this.writeCheckpoint();
    await this.backend.close();
  }

  /**
   * Writes the index checkpoint, then the meta record that makes it valid (see
   * index-checkpoint.ts). A failure only costs the next open a full rebuild.
   */
  private async writeCheckpoint(): Promise<void> {
    const store = this.options.checkpoint;
    if (!store) return;
    try {
      const data = encodeCheckpoint(this.index, this.durableRev, this.compactRev);
      await store.write(data);
      await this.backend.write([{ type: 'put', key: META_INDEX_CHECKPOINT, value: checkpointMeta(data, this.durableRev) }]);
    } catch (err) {
      process.emitWarning(`index checkpoint not written (the next open rebuilds the index): ${(err as Error).message}`);
    }
  }

  isOpen(): boolean {
    return this.state === 'open';
  }

  // ---- reads ----

  currentRevision(): number {
    return this.durableRev;
  }

  compactRevision(): number {
    return this.compactRev;
  }

  async range(req: RangeRequest): Promise<RangeResult> {
    this.checkReadable();
    if (req.key.length === 0) throw kvError('ERR_KEY_NOT_PROVIDED');
    const current = this.durableRev;
    // As etcd's rangeKeys: a revision <= 0 (negative included) reads the current one.
    const rev = req.revision !== undefined && req.revision > 0 ? req.revision : current;
    if (rev > current) throw kvError('ERR_FUTURE_REV');
    if (rev < this.compactRev) throw kvError('ERR_COMPACTED');
    return rangeQuery(this, req, rev, current);
  }

  async history(
    fromRevision: number,
    toRevision: number,
    options: { maxRevisions?: number; withPrevKv?: boolean } = {},
  ): Promise<RevisionChanges[]> {
    this.checkReadable();
    return readHistory(this.backend, this, fromRevision, toRevision, options, this.options.scanBatchRecords);
  }

  /** ValueSource: the kv at `at` from memory, when it is there. */
  cached(ki: KeyIndex, at: KeyAt): KeyValue | undefined {
    const latest = ki.latest;
    if (latest && latest.modRevision === at.mod.main) return latest;
    return this.unflushed.get(revisionKey(at.mod.main, at.mod.sub));
  }

  /** ValueSource: kvs by revision from the backend. A record gone means compaction won the race. */
  async load(refs: ReadonlyArray<{ ki: KeyIndex; at: KeyAt }>): Promise<KeyValue[]> {
    const keys = refs.map(({ at }) => recordKey(at.mod.main, at.mod.sub));
    const values = await this.backend.getMany(keys);
    return values.map((value, i) => {
      if (value === undefined) {
        const hit = this.cached(refs[i]!.ki, refs[i]!.at);
        if (hit) return hit;
        throw kvError('ERR_COMPACTED');
      }
      return decodeRecord(keys[i]!, value).kv;
    });
  }

  /**
   * A point-in-time view of every backend record (revisions, meta, and any other room's records
   * such as leases) at the durable revision. Taken under the txn lock once the commit queue has
   * drained, so the backend then holds exactly the revisions up to `revision`: nothing newer is
   * half in it. Writes wait only for that moment, not for the copy; the caller reads the view at
   * its own pace and must close it.
   */
  async snapshot(): Promise<StoreSnapshot> {
    let out!: StoreSnapshot;
    const run = this.txnLock.then(async () => {
      this.checkReadable();
      await this.queue.barrier();
      out = { revision: this.durableRev, compactRevision: this.compactRev, records: this.backend.snapshot() };
    });
    this.txnLock = run.catch(() => {});
    await run;
    return out;
  }

  async dbSize(): Promise<number> {
    return this.backend.approximateSize();
  }

  async hashKv(revision: number): Promise<KvHash> {
    this.checkReadable();
    return hashKv(this.backend, this, revision, this.options.scanBatchRecords, () => this.compactedOnce);
  }

  async hashAll(): Promise<number> {
    this.checkReadable();
    return hashBackend(this.backend, this.options.scanBatchRecords);
  }

  /** Physical compactions still under way delete their records first, so their space comes back too. */
  async defragment(): Promise<void> {
    this.checkReadable();
    await this.compaction;
    await this.backend.compactFiles();
    await this.quota.refresh();
  }

  // ---- alarms (alarm-store.ts) ----

  async alarm(req: AlarmRequest): Promise<AlarmMember[]> {
    this.checkReadable();
    if (req.action === 'GET') return this.alarms.get(req.alarm);
    const extra: { ops: readonly BatchOp[] } = { ops: [] };
    let apply = (): void => undefined;
    const answer = await this.write(
      () => {
        const change = this.alarms.change(req.action as 'ACTIVATE' | 'DEACTIVATE', req.memberId, req.alarm);
        extra.ops = change.ops;
        apply = change.apply;
        return change.answer;
      },
      { extra },
    );
    apply();
    return answer;
  }

  /**
   * Lets a write through the raised alarms and the space quota (undefined), or throws what etcd
   * answers. A write the quota refuses raises NOSPACE: at once in memory (refusing early is safe),
   * and on disk in the same commit order as every write. The refusal is answered only once that
   * record is durable, as etcd commits the alarm before it answers "database space exceeded": a
   * client that saw the refusal finds the alarm raised after a crash. Sync on the path taken by
   * every admitted write; a promise only for a refusal.
   */
  private admit(kind: WriteKind, cost: number): Promise<never> | undefined {
    this.alarms.check(kind);
    if (this.quota.admit(cost)) return undefined;
    const change = this.alarms.change('ACTIVATE', this.options.memberId, 'NOSPACE');
    change.apply();
    // A failed batch starts recovery itself; the refusal stands either way.
    const durable = change.ops.length > 0 ? this.queue.append(change.ops).catch(() => {}) : Promise.resolve();
    return durable.then(() => {
      throw kvError('ERR_NO_SPACE');
    });
  }

  // ---- writes ----

  async put(req: PutRequest): Promise<PutResult> {
    if (req.key.length === 0) throw kvError('ERR_KEY_NOT_PROVIDED');
    if (req.key.length + req.value.length > this.options.maxRequestBytes) throw kvError('ERR_REQUEST_TOO_LARGE');
    return this.write((tx) => tx.put(req), { gate: { kind: 'put', cost: putCost(req.key, req.value) } });
  }

  async deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResult> {
    if (req.key.length === 0) throw kvError('ERR_KEY_NOT_PROVIDED');
    return this.write((tx) => tx.deleteRange(req), { gate: { kind: 'delete', cost: 0 } });
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    checkTxnRequest(req, this.options);
    const cost = txnCost(req);
    const kind: WriteKind = cost > 0 ? 'txn-put' : txnWrites(req) ? 'txn-delete' : 'txn-readonly';
    return this.write(
      async (tx) => {
        tx.prepare(req);
        return tx.run(req);
      },
      { gate: { kind, cost } },
    );
  }

  /**
   * Runs `body` as one write txn under the txn lock, then waits — outside the lock, so the next
   * txns can join the same disk batch — until its revision is durable. A txn that changed
   * nothing still waits for the state it read to be durable: no answer reveals a write that
   * could be lost.
   */
  private async write<T>(body: (tx: WriteTxn) => T | Promise<T>, opts: WriteOptions = {}): Promise<T> {
    const { extra, gate } = opts;
    let durable!: Promise<void>;
    const run = this.txnLock.then(async () => {
      this.checkWritable();
      if (this.writeFailure) await this.probeBackend();
      const refusal = gate ? this.admit(gate.kind, gate.cost) : undefined;
      if (refusal) await refusal;
      const tx = new WriteTxn(this, this.appliedRev, this.leaseHook);
      const result = await body(tx);
      // A recovery may have started while the txn awaited a read: its changes are void.
      this.checkWritable();
      // Records a lessor writes along with the txn go in the same backend batch (atomic).
      const ops = extra && extra.ops.length > 0 ? [...tx.ops, ...extra.ops] : tx.ops;
      if (tx.events.length > 0) {
        this.appliedRev = tx.beginRev + 1;
        for (const [k, kv] of tx.written) this.unflushed.set(k, kv);
        if (this.leaseHook && tx.leaseMoves.length > 0) this.leaseHook.keysMoved(tx.leaseMoves);
        durable = this.queue.append(ops, { revision: this.appliedRev, events: tx.events });
      } else if (ops.length > 0) {
        durable = this.queue.append(ops);
      } else {
        durable = this.queue.barrier();
      }
      return result;
    });
    this.txnLock = run.catch(() => {});
    const result = await run;
    await durable;
    return result;
  }

  // ---- the lessor's seam (lease-hook.ts) ----

  async setLeaseHook(hook: LeaseHook): Promise<void> {
    await this.write(() => {
      this.leaseHook = hook;
      hook.reattach(attachedKeys(this.index));
    });
  }

  async leaseWrite<T>(body: (tx: LeaseTxn) => { ops: BatchOp[]; result: T }, purpose: 'grant' | 'revoke' = 'revoke'): Promise<{ result: T; revision: number }> {
    const extra: { ops: readonly BatchOp[] } = { ops: [] };
    let revision = 0;
    const gate = purpose === 'grant' ? { kind: 'lease-grant' as const, cost: LEASE_COST_BYTES } : { kind: 'lease-revoke' as const, cost: 0 };
    const result = await this.write(
      (tx) => {
        const out = body(tx);
        extra.ops = out.ops;
        revision = tx.rev;
        return out.result;
      },
      { extra, gate },
    );
    return { result, revision };
  }

  async scanLeaseRecords(): Promise<Array<[Buffer, Buffer]>> {
    this.checkReadable();
    return scanLeaseRecords(this.backend, this.options.scanBatchRecords);
  }

  // ---- the auth store's seam (auth-host.ts) ----

  async authWrite<T>(body: () => { ops: BatchOp[]; result: T }): Promise<T> {
    const extra: { ops: readonly BatchOp[] } = { ops: [] };
    return this.write(
      () => {
        const out = body();
        extra.ops = out.ops;
        return out.result;
      },
      { extra },
    );
  }

  async scanAuthRecords(): Promise<Array<[Buffer, Buffer]>> {
    this.checkReadable();
    return scanPrefixRecords(this.backend, AUTH_PREFIX, this.options.scanBatchRecords);
  }

  async compact(revision: number, physical = false): Promise<CompactResult> {
    let job!: Promise<unknown>;
    await this.write(
      async () => {
        // As etcd, compacting at the compacted revision again is an error, but compacting at 0
        // before any compaction is an accepted no-op.
        if (revision < this.compactRev || (revision === this.compactRev && this.compactedOnce)) throw kvError('ERR_COMPACTED');
        if (revision > this.durableRev) throw kvError('ERR_FUTURE_REV');
        this.compactRev = revision;
        this.compactedOnce = true;
        const keep = this.index.compact(revision);
        // Scheduled before any record goes, so a crash mid-way resumes on open.
        const scheduled = this.queue.append([{ type: 'put', key: META_SCHEDULED_COMPACT, value: encodeMetaRevision(revision) }]);
        job = scheduled.then(() => this.schedulePhysicalCompaction(revision, keep));
        job.catch(() => {}); // awaited only when physical; a failure is retried on the next open
      },
      { gate: { kind: 'compact', cost: 0 } },
    );
    if (physical) await job;
    return { revision: this.durableRev };
  }

  private schedulePhysicalCompaction(revision: number, keep: Set<string>): Promise<unknown> {
    const run = this.compaction.then(async () => {
      await deleteCompacted(this.backend, revision, keep, this.options.compactionBatchRecords, () => this.state === 'closed');
      // Space may have come back: the quota judges by a fresh measurement.
      if (this.state !== 'closed') await this.quota.refresh().catch(() => {});
    });
    this.compaction = run.catch(() => {});
    return run;
  }

  // ---- publication and failure ----

  onCommit(listener: CommitListener): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /** A batch is on disk: make its revisions visible, then tell listeners, in revision order. */
  private publish(commits: readonly PendingCommit[]): void {
    for (const c of commits) {
      this.durableRev = c.revision;
      // An event's index in its txn is its sub revision.
      c.events.forEach((ev, sub) => ev.type === 'PUT' && this.unflushed.delete(revisionKey(c.revision, sub)));
      for (const listener of this.commitListeners) {
        try {
          listener(c.revision, c.events);
        } catch (err) {
          process.emitWarning(`commit listener failed: ${(err as Error).stack ?? err}`);
        }
      }
    }
  }

  /**
   * A batch failed to reach the disk: the in-memory state ran ahead of it and is now wrong.
   * Rebuild the index from what the disk holds; writes fail meanwhile, reads keep being served
   * from the old index at the durable revision, which is still exact.
   */
  private recover(err: unknown): void {
    this.writeFailure = isKvError(err) ? err : kvError('ERR_STORAGE', `storage write failed: ${(err as Error)?.message}`, err);
    if (this.state !== 'open') return;
    this.state = 'recovering';
    this.recovery = (async () => {
      await this.txnLock.catch(() => {});
      for (let attempt = 0; this.state === 'recovering'; attempt++) {
        try {
          const restored = await restoreIndex(this.backend, { batchRecords: Math.max(this.options.scanBatchRecords, 10_000) });
          if (this.compactRev > 0) restored.index.compact(this.compactRev);
          if (this.state !== 'recovering') return;
          this.index = restored.index;
          this.unflushed.clear();
          this.appliedRev = this.durableRev;
          // Moves of the lost txns were reported already: the rebuilt index is the truth now.
          this.leaseHook?.reattach(attachedKeys(this.index));
          this.state = 'open';
        } catch (e) {
          process.emitWarning(`store recovery failed: ${(e as Error).message} (after: ${(err as Error)?.message})`);
          await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 5000)));
        }
      }
    })();
  }

  /** Resolves once the backend takes writes again; otherwise throws what it says, changing nothing. */
  private async probeBackend(): Promise<void> {
    try {
      await this.backend.write([]);
    } catch (err) {
      throw isKvError(err) ? err : kvError('ERR_STORAGE', `storage write failed: ${(err as Error)?.message}`, err);
    }
    this.writeFailure = undefined;
  }

  private checkReadable(): void {
    if (this.state === 'closed') throw kvError('ERR_STOPPED');
  }

  private checkWritable(): void {
    if (this.state === 'open') return;
    if (this.state === 'closed') throw kvError('ERR_STOPPED');
    // Rebuilding after a full disk: say so, as etcd keeps answering "database space exceeded".
    if (this.writeFailure?.code === 'ERR_NO_SPACE') throw kvError('ERR_NO_SPACE', this.writeFailure.message);
    throw kvError('ERR_UNAVAILABLE');
  }
}

/** What a write carries besides its txn: records of another room, and the alarm/quota gate. */
interface WriteOptions {
  extra?: { ops: readonly BatchOp[] };
  gate?: { kind: WriteKind; cost: number };
}

/** Whether a txn can change anything (a put or a delete in either branch, at any depth). */
function txnWrites(req: TxnRequest): boolean {
  const writes = (ops: TxnRequest['success']): boolean => ops.some((op) => 'put' in op || 'deleteRange' in op || ('txn' in op && txnWrites(op.txn)));
  return writes(req.success) || writes(req.failure);
}
