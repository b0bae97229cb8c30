import { join } from 'node:path';
import type { Backend } from '../backend/backend.ts';
import { DEFAULTS } from '../config.ts';
import { kvError } from '../errors.ts';
import { CommitQueue, type PendingCommit } from './commit-queue.ts';
import { decodeMetaRevision, deleteCompacted, encodeMetaRevision } from './compaction.ts';
import { checkpointMeta, encodeCheckpoint, fileCheckpointStore, type CheckpointStore } from './index-checkpoint.ts';
import { restoreIndex, type RestoreProgress } from './index-restore.ts';
import type { KeyAt, KeyIndex } from './key-index.ts';
import {
  decodeRecord,
  FORMAT_VERSION,
  META_FINISHED_COMPACT,
  META_FORMAT,
  META_INDEX_CHECKPOINT,
  META_SCHEDULED_COMPACT,
  recordKey,
} from './kv-codec.ts';
import type {
  CommitListener,
  CompactListener,
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
  RevisionChanges,
  TxnRequest,
  TxnResult,
} from './kv.ts';
import { rangeQuery, type ValueSource } from './range-query.ts';
import { revisionKey } from './revision.ts';
import type { TreeIndex } from './tree-index.ts';
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
export class KvStore implements KV, ValueSource {
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
  private readonly compactListeners = new Set<CompactListener>();
  private recovery: Promise<void> | undefined;

  constructor(
    private readonly backend: Backend,
    private readonly options: StoreOptions,
  ) {
    this.queue = new CommitQueue(backend, {
      durable: (commits) => this.publish(commits),
      failed: (err) => this.recover(err),
    });
  }

  // ---- lifecycle ----

  /** Checks the directory is ours, rebuilds the index and resumes an interrupted compaction. */
  async restore(): Promise<void> {
    const format = await this.backend.get(META_FORMAT);
    if (format === undefined) {
      const any = await this.backend.scan({ limit: 1 });
      if (any.length > 0) throw kvError('ERR_CORRUPT', 'data directory holds data that is not watchkv\'s (no format record)');
      await this.backend.write([{ type: 'put', key: META_FORMAT, value: Buffer.from(FORMAT_VERSION) }]);
    } else if (format.toString() !== FORMAT_VERSION) {
      throw kvError('ERR_CORRUPT', `data directory has format "${format.toString().slice(0, 40)}", expected "${FORMAT_VERSION}"`);
    }
    let scheduled: number;
    let finished: number;
    try {
      scheduled = decodeMetaRevision(await this.backend.get(META_SCHEDULED_COMPACT));
      finished = decodeMetaRevision(await this.backend.get(META_FINISHED_COMPACT));
    } catch (err) {
      throw kvError('ERR_CORRUPT', `data directory is corrupt: ${(err as Error).message}`, err);
    }
    const restored = await restoreIndex(this.backend, {
      batchRecords: Math.max(this.options.scanBatchRecords, 10_000),
      checkpoint: this.options.checkpoint,
      scheduledCompactRevision: scheduled,
      ...(this.options.onRestoreProgress ? { onProgress: this.options.onRestoreProgress } : {}),
    });
    this.index = restored.index;
    this.compactRev = scheduled;
    this.compactedOnce = (await this.backend.get(META_SCHEDULED_COMPACT)) !== undefined;
    // A tombstone at the compaction revision is compacted away with its key, so the newest
    // record can be older than the newest revision: the revision never goes below compactRev.
    this.appliedRev = this.durableRev = Math.max(restored.lastRevision, scheduled, 1);
    // The records reflect every finished compaction; a checkpoint only the one it was taken at.
    const indexCompactedAt = restored.fromCheckpoint ? Math.min(finished, restored.compactedAt) : finished;
    if (scheduled > indexCompactedAt) {
      const keep = this.index.compact(scheduled);
      if (scheduled > finished) this.schedulePhysicalCompaction(scheduled, keep);
    }
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
    const rev = req.revision || current;
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
    // Every record of the compaction revision itself survives (see KeyIndex.compact).
    if (fromRevision < this.compactRev) throw kvError('ERR_COMPACTED');
    const to = Math.min(toRevision, this.durableRev);
    const maxRevisions = options.maxRevisions ?? Number.MAX_SAFE_INTEGER;
    const out: RevisionChanges[] = [];
    if (fromRevision > to) return out;
    let gte: Buffer | undefined = recordKey(fromRevision, 0);
    const lt = recordKey(to + 1, 0);
    const batch = this.options.scanBatchRecords;
    scan: while (gte) {
      const entries = await this.backend.scan({ gte, lt, limit: batch });
      for (const [key, value] of entries) {
        const rec = decodeRecord(key, value);
        const main = rec.kv.modRevision;
        let last = out[out.length - 1];
        if (!last || last.revision !== main) {
          if (out.length === maxRevisions) break scan;
          last = { revision: main, events: [] };
          out.push(last);
        }
        last.events.push({ type: rec.tombstone ? 'DELETE' : 'PUT', kv: rec.kv });
      }
      gte = entries.length < batch ? undefined : Buffer.concat([entries[entries.length - 1]![0], Buffer.from([0])]);
    }
    if (fromRevision < this.compactRev) throw kvError('ERR_COMPACTED'); // compacted while we read
    if (options.withPrevKv) await this.attachPrevKvs(out);
    return out;
  }

  /**
   * Fills each event's prevKv: the key's kv at revision-1. Within the batch the previous event
   * on the same key answers directly; the first event of each key asks the index.
   */
  private async attachPrevKvs(changes: RevisionChanges[]): Promise<void> {
    // Key → its kv after the revisions already walked (null = deleted). A revision's events
    // read the state before that revision, so the map is updated only once a revision is done.
    const lastSeen = new Map<string, KeyValue | null>();
    const toLoad: Array<{ ki: KeyIndex; at: KeyAt; ev: { events: Event[]; i: number } }> = [];
    for (const rc of changes) {
      const after: Array<[string, KeyValue | null]> = [];
      rc.events.forEach((ev, i) => {
        const id = ev.kv.key.toString('latin1');
        const seen = lastSeen.get(id);
        let prev: KeyValue | undefined;
        if (seen !== undefined) prev = seen ?? undefined;
        else if (rc.revision - 1 >= this.compactRev) {
          const ki = this.index.lookup(ev.kv.key);
          const at = ki?.get(rc.revision - 1);
          if (ki && at) {
            prev = this.cached(ki, at);
            if (!prev) toLoad.push({ ki, at, ev: { events: rc.events, i } });
          }
        }
        if (prev) rc.events[i] = { type: ev.type, kv: ev.kv, prevKv: prev };
        after.push([id, ev.type === 'DELETE' ? null : ev.kv]);
      });
      for (const [id, kv] of after) lastSeen.set(id, kv);
    }
    if (toLoad.length === 0) return;
    const kvs = await this.load(toLoad);
    toLoad.forEach(({ ev }, j) => {
      const old = ev.events[ev.i]!;
      ev.events[ev.i] = { type: old.type, kv: old.kv, prevKv: kvs[j]! };
    });
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

  async dbSize(): Promise<number> {
    return this.backend.approximateSize();
  }

  // ---- writes ----

  async put(req: PutRequest): Promise<PutResult> {
    if (req.key.length === 0) throw kvError('ERR_KEY_NOT_PROVIDED');
    if (req.key.length + req.value.length > this.options.maxRequestBytes) throw kvError('ERR_REQUEST_TOO_LARGE');
    return this.write((tx) => tx.put(req));
  }

  async deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResult> {
    if (req.key.length === 0) throw kvError('ERR_KEY_NOT_PROVIDED');
    return this.write((tx) => tx.deleteRange(req));
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    checkTxnRequest(req, this.options);
    return this.write(async (tx) => {
      tx.prepare(req);
      return tx.run(req);
    });
  }

  /**
   * Runs `body` as one write txn under the txn lock, then waits — outside the lock, so the next
   * txns can join the same disk batch — until its revision is durable. A txn that changed
   * nothing still waits for the state it read to be durable: no answer reveals a write that
   * could be lost.
   */
  private async write<T>(body: (tx: WriteTxn) => T | Promise<T>): Promise<T> {
    let durable!: Promise<void>;
    const run = this.txnLock.then(async () => {
      this.checkWritable();
      const tx = new WriteTxn(this, this.appliedRev);
      const result = await body(tx);
      // A recovery may have started while the txn awaited a read: its changes are void.
      this.checkWritable();
      if (tx.events.length > 0) {
        this.appliedRev = tx.beginRev + 1;
        for (const [k, kv] of tx.written) this.unflushed.set(k, kv);
        durable = this.queue.append(tx.ops, { revision: this.appliedRev, events: tx.events });
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

  async compact(revision: number, physical = false): Promise<CompactResult> {
    let job!: Promise<unknown>;
    await this.write(async () => {
      // As etcd, compacting at the compacted revision again is an error, but compacting at 0
      // before any compaction is an accepted no-op.
      if (revision < this.compactRev || (revision === this.compactRev && this.compactedOnce)) throw kvError('ERR_COMPACTED');
      if (revision > this.durableRev) throw kvError('ERR_FUTURE_REV');
      this.compactRev = revision;
      this.compactedOnce = true;
      const keep = this.index.compact(revision);
      for (const listener of this.compactListeners) listener(revision);
      // Scheduled before any record goes, so a crash mid-way resumes on open.
      const scheduled = this.queue.append([{ type: 'put', key: META_SCHEDULED_COMPACT, value: encodeMetaRevision(revision) }]);
      job = scheduled.then(() => this.schedulePhysicalCompaction(revision, keep));
      job.catch(() => {}); // awaited only when physical; a failure is retried on the next open
    });
    if (physical) await job;
    return { revision: this.durableRev };
  }

  private schedulePhysicalCompaction(revision: number, keep: Set<string>): Promise<unknown> {
    const run = this.compaction.then(() =>
      deleteCompacted(this.backend, revision, keep, this.options.compactionBatchRecords, () => this.state === 'closed'),
    );
    this.compaction = run.catch(() => {});
    return run;
  }

  // ---- publication and failure ----

  onCommit(listener: CommitListener): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  onCompact(listener: CompactListener): () => void {
    this.compactListeners.add(listener);
    return () => this.compactListeners.delete(listener);
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
          this.state = 'open';
        } catch (e) {
          process.emitWarning(`store recovery failed: ${(e as Error).message} (after: ${(err as Error)?.message})`);
          await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 5000)));
        }
      }
    })();
  }

  private checkReadable(): void {
    if (this.state === 'closed') throw kvError('ERR_STOPPED');
  }

  private checkWritable(): void {
    if (this.state === 'open') return;
    throw kvError(this.state === 'closed' ? 'ERR_STOPPED' : 'ERR_UNAVAILABLE');
  }
}
