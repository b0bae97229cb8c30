/**
 * The server's cluster_id / member_id: stable per data directory. A random 64-bit nonce is
 * created once in the data dir (file `watchkv-identity`); both ids are derived from it, so a
 * restart on the same data dir keeps them and a fresh data dir gets new ones.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Identity } from './json.ts';

const FILE = 'watchkv-identity';
/** etcd's raft term after a single-node start; watchkv has no raft, so it never changes. */
const RAFT_TERM = '2';

function idFrom(nonce: string, label: string): string {
  return createHash('sha256').update(`${label}:${nonce}`).digest().readBigUInt64BE(0).toString();
}

export function identityFromNonce(nonce: string): Identity {
  return { clusterId: idFrom(nonce, 'cluster'), memberId: idFrom(nonce, 'member'), raftTerm: RAFT_TERM };
}

export async function loadIdentity(dataDir: string): Promise<Identity> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, FILE);
  let nonce: string;
  try {
    nonce = (await readFile(path, 'utf8')).trim();
  } catch {
    nonce = randomBytes(16).toString('hex');
    await writeFile(path + '.tmp', nonce + '\n');
    await rename(path + '.tmp', path);
  }
  return identityFromNonce(nonce);
}

/** For an in-memory server: a fresh identity each time. */
export function randomIdentity(): Identity {
  return identityFromNonce(randomBytes(16).toString('hex'));
}
