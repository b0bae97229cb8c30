import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { DEFAULTS } from '../config.ts';
import { ERROR_MESSAGES, kvError, type WatchKvError } from '../errors.ts';
import type { Backend, BackendSnapshot, BatchOp, ScanOptions } from './backend.ts';

type Db = Level<Buffer, Buffer>;
type Compactable = { compactRange(start: Buffer, end: Buffer): Promise<void> };

/** Most entries one scan pulls from LevelDB per nextv call, so one callback never runs long. */
const SCAN_CHUNK = 1000;

export interface LevelBackendOptions {
  /**
   * bytes: free space the filesystem must have before a backend wedged by a failed write closes
   * and reopens LevelDB. Reopening writes a new log and manifest, so trying it on a still-full
   * disk would fail and take reads down with it.
   */
  reopenMinFreeBytes: number;
}

/**
 * The default Backend: LevelDB (classic-level via `level`) in one directory.
 *
 * Durability: every write() is one LevelDB batch with `sync: true`, i.e. the write-ahead log is
 * fsynced before the promise resolves. LevelDB applies a batch atomically, so after kill -9 or
 * power loss an acknowledged batch is fully present and an unacknowledged one is either fully
 * present or fully absent.
 *
 * Failed writes: once a write fails (disk full, I/O error), LevelDB refuses every later write
 * until it is reopened, while reads keep working. So the backend marks itself `wedged`, and the
 * next write first reopens LevelDB — but only when the disk has room again; until then writes
 * reject with ERR_NO_SPACE and reads are served by the old handle.
 *
 * Invariants: `db` is the live handle while open (null while closed, or after a failed reopen);
 * reads and writes wait for `reopening` before touching it. `inFlight` holds every write not yet
 * settled; close() and reopen drain it before releasing the files.
 */
export class LevelBackend implements Backend {
  private db: Db | null = null;
  private state: 'closed' | 'opening' | 'open' = 'closed';
  private wedged = false;
  private reopening: Promise<void> | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly options: LevelBackendOptions;

  constructor(
    readonly dir: string,
    options: Partial<LevelBackendOptions> = {},
  ) {
    this.options = { reopenMinFreeBytes: options.reopenMinFreeBytes ?? DEFAULTS.storageReopenMinFreeBytes };
  }

  async open(): Promise<void> {
    if (this.state !== 'closed') throw kvError('ERR_STORAGE', `level backend ${this.dir} is already open`);
    this.state = 'opening';
    try {
      this.db = await this.openDb();
      this.wedged = false;
      this.state = 'open';
    } catch (err) {
      this.state = 'closed';
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closed';
    await this.reopening?.catch(() => {});
    const db = this.db;
    this.db = null;
    // Every write already issued, acknowledged or failing, finishes before the files go away.
    await Promise.allSettled([...this.inFlight]);
    await db?.close();
  }

  async write(ops: readonly BatchOp[]): Promise<void> {
    // LevelDB copies the batch when it is issued; if we must wait first, copy it ourselves, since
    // the caller may reuse its Buffers as soon as write() returns.
    const mustWait = this.wedged || this.reopening !== null;
    const batch = ops.map((op) =>
      op.type === 'put'
        ? { type: 'put' as const, key: mustWait ? Buffer.from(op.key) : op.key, value: mustWait ? Buffer.from(op.value) : op.value }
        : { type: 'del' as const, key: mustWait ? Buffer.from(op.key) : op.key },
    );
    if (this.wedged) await this.unwedge();
    const db = mustWait ? await this.handle() : this.live();
    if (batch.length === 0) return;
    // A chained batch hands each op straight to LevelDB's native batch; the array form clones and
    // re-validates every op in JS first (11% of the put path's CPU in abstract-level/classic-level).
    const chained = db.batch();
    for (const op of batch) {
      if (op.type === 'put') chained.put(op.key, op.value);
      else chained.del(op.key);
    }
    const p = chained.write({ sync: true });
    this.inFlight.add(p);
    try {
      await p;
    } catch (err) {
      this.wedged = true;
      throw writeError(err);
    } finally {
      this.inFlight.delete(p);
    }
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    const db = this.reopening ? await this.handle() : this.live();
    const value = await db.get(key);
    return value ?? undefined;
  }

  async getMany(keys: readonly Buffer[]): Promise<(Buffer | undefined)[]> {
    if (keys.length === 0) return [];
    const db = this.reopening ? await this.handle() : this.live();
    const values = await db.getMany([...keys]);
    return values.map((v) => v ?? undefined);
  }

  async scan(options: ScanOptions): Promise<Array<[Buffer, Buffer]>> {
    const db = await this.handle();
    if (options.limit <= 0) return [];
    const range: { gte?: Buffer; lt?: Buffer; limit: number; reverse: boolean } = {
      limit: options.limit,
      reverse: options.reverse === true,
    };
    if (options.gte) range.gte = options.gte;
    if (options.lt) range.lt = options.lt;
    const it = db.iterator(range);
    const out: Array<[Buffer, Buffer]> = [];
    try {
      // Chunked so a large limit still yields to the event loop between native calls.
      while (out.length < options.limit) {
        const chunk = await it.nextv(Math.min(SCAN_CHUNK, options.limit - out.length));
        if (chunk.length === 0) break;
        for (const entry of chunk) out.push(entry);
      }
    } finally {
      await it.close();
    }
    return out;
  }

  /**
   * Every key this project writes starts with an ASCII prefix byte (kv-codec.ts), so [empty, 0xff)
   * is the whole keyspace. Tracked like a write: close() waits for it before the files go.
   */
  async compactFiles(): Promise<void> {
    const db = await this.handle();
    // On Node `level`'s Level is classic-level's, which has compactRange; level's types omit it.
    const p = (db as unknown as Compactable).compactRange(Buffer.alloc(0), Buffer.from([0xff]));
    this.inFlight.add(p);
    try {
      await p;
    } finally {
      this.inFlight.delete(p);
    }
  }

  /** LevelDB iterators read from an implicit snapshot taken when they are created. */
  snapshot(): BackendSnapshot {
    const it = this.live().iterator();
    let closed = false;
    return {
      next: async (max) => (closed || max <= 0 ? [] : it.nextv(max)),
      close: async () => {
        if (closed) return;
        closed = true;
        await it.close();
      },
    };
  }

  /**
   * Bytes of the directory's files (tables, write-ahead log, manifest), like etcd's dbSize of its
   * bbolt file. LevelDB's own approximateSize counts only compacted tables, so a young store —
   * everything still in the log — would report 0.
   */
  async approximateSize(): Promise<number> {
    this.live();
    let bytes = 0;
    for (const name of await readdir(this.dir)) {
      try {
        bytes += (await stat(join(this.dir, name))).size;
      } catch {
        // a table compacted away between readdir and stat
      }
    }
    return bytes;
  }

  /** The live handle, once any reopen in progress is over. */
  private async handle(): Promise<Db> {
    if (this.reopening) await this.reopening.catch(() => {});
    return this.live();
  }

  private live(): Db {
    if (this.state !== 'open' || !this.db) throw kvError('ERR_STORAGE', `level backend ${this.dir} is not open`);
    return this.db;
  }

  private async openDb(): Promise<Db> {
    // A fresh Level per open: a closed classic-level instance is not meant to be reused.
    const db: Db = new Level<Buffer, Buffer>(this.dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open({ createIfMissing: true });
    } catch (err) {
      throw openError(this.dir, err);
    }
    return db;
  }

  /**
   * Clears LevelDB's sticky write error by reopening it, once the disk has room. Concurrent
   * writers share one attempt. If the reopen itself fails, `db` stays null (reads fail too) and
   * the next write tries again.
   */
  private unwedge(): Promise<void> {
    this.reopening ??= (async () => {
      const free = await freeBytes(this.dir);
      if (free < this.options.reopenMinFreeBytes) {
        throw kvError('ERR_NO_SPACE', `${ERROR_MESSAGES.ERR_NO_SPACE} (${free} bytes free, waiting for ${this.options.reopenMinFreeBytes})`);
      }
      if (this.state !== 'open') throw kvError('ERR_STORAGE', `level backend ${this.dir} is not open`);
      const old = this.db;
      this.db = null;
      await Promise.allSettled([...this.inFlight]);
      await old?.close();
      this.db = await this.openDb();
      this.wedged = false;
    })().finally(() => {
      this.reopening = null;
    });
    return this.reopening;
  }
}

/** The LevelDB error code, looking through abstract-level's wrapping (`cause`). */
function levelCodes(err: unknown): string[] {
  const out: string[] = [];
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === 'string') out.push(code);
    if (typeof message === 'string') out.push(message);
    e = cause;
  }
  return out;
}

function openError(dir: string, err: unknown): WatchKvError {
  const codes = levelCodes(err).join(' ');
  if (/LEVEL_LOCKED|lock/i.test(codes)) {
    return kvError('ERR_STORAGE', `data directory ${dir} is locked by another process`, err);
  }
  if (/LEVEL_CORRUPTION|corrupt/i.test(codes)) return kvError('ERR_CORRUPT', undefined, err);
  return kvError('ERR_STORAGE', `cannot open data directory ${dir}: ${codes}`, err);
}

/**
 * Disk full → ERR_NO_SPACE (etcd's "database space exceeded", so clients react the same way);
 * any other refusal (I/O error, read-only filesystem, a sticky LevelDB background error) →
 * ERR_STORAGE. Either way LevelDB applied nothing of the batch.
 */
export function writeError(err: unknown): WatchKvError {
  const text = levelCodes(err).join(' ');
  if (/ENOSPC|no space left/i.test(text)) return kvError('ERR_NO_SPACE', undefined, err);
  return kvError('ERR_STORAGE', `storage write failed: ${text}`, err);
}

/** Bytes available to this process on the filesystem holding `dir`; +Infinity if unknown. */
async function freeBytes(dir: string): Promise<number> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
