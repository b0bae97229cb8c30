/**
 * The KV contract (test/contracts/kv-contract.ts) against the store itself, over both backends:
 * in memory and on LevelDB in a temp dir. The reference every other KV is held to.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelBackend } from '../../src/backend/level-backend.ts';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import { openKvStore } from '../../src/mvcc/kv-store.ts';
import { kvContract } from '../contracts/kv-contract.ts';

kvContract(
  'store over MemoryBackend',
  async () => {
    const kv = await openKvStore(new MemoryBackend());
    return { kv, startRevision: 1, cleanup: () => kv.close() };
  },
  { commits: true },
);

kvContract(
  'store over LevelBackend',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'watchkv-kv-contract-'));
    const kv = await openKvStore(new LevelBackend(dir));
    return {
      kv,
      startRevision: 1,
      cleanup: async () => {
        await kv.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { commits: true },
);
