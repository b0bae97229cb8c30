/**
 * Offline restore: a verified snapshot file becomes a new data directory. The directory must be
 * missing or empty (restoring over data would mix two histories). The file is read twice: once
 * to verify it whole (nothing is written from a damaged file), then to copy its records into a
 * fresh LevelDB in synced batches. The server identity is not part of a snapshot: the restored
 * directory gets new cluster/member ids at first start, as etcd's restore makes a new cluster.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { LevelBackend } from '../backend/level-backend.ts';
import type { BatchOp } from '../backend/backend.ts';
import { kvError } from '../errors.ts';
import { readSnapshot, type SnapshotSummary } from './snapshot-reader.ts';

export async function restoreSnapshot(file: string, dataDir: string): Promise<SnapshotSummary> {
  let existing: string[] = [];
  try {
    existing = await readdir(dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw kvError('ERR_STORAGE', `cannot read ${dataDir}: ${(err as Error).message}`);
  }
  if (existing.length > 0) throw kvError('ERR_INVALID_ARGUMENT', `data directory ${dataDir} is not empty; restore needs a new or empty one`);
  const summary = await readSnapshot(file);
  await mkdir(dataDir, { recursive: true });
  const backend = new LevelBackend(dataDir);
  try {
    await backend.open();
    await readSnapshot(file, async (entries) => {
      const ops: BatchOp[] = entries.map(([key, value]) => ({ type: 'put', key, value }));
      await backend.write(ops);
    });
    await backend.close();
  } catch (err) {
    await backend.close().catch(() => {});
    // Leave nothing half-restored behind.
    for (const name of await readdir(dataDir).catch(() => [] as string[])) await rm(`${dataDir}/${name}`, { recursive: true, force: true });
    throw err;
  }
  return summary;
}
