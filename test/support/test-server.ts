/**
 * Starts a real watchkv server on 127.0.0.1, ephemeral port: on a temp data dir (LevelDB) by
 * default, or in memory. stop() closes it and removes the temp dir (unless keepDir).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/server.ts';
import { MemoryBackend } from '../../src/backend/memory-backend.ts';
import type { ServerConfig } from '../../src/config.ts';

export interface TestServer {
  url: string;
  dataDir: string;
  server: RunningServer;
  stop(opts?: { keepDir?: boolean }): Promise<void>;
}

export async function startTestServer(
  config: Partial<ServerConfig> = {},
  opts: { memory?: boolean; dataDir?: string } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'watchkv-e2e-'));
  const server = await startServer(
    { listenClientUrls: 'http://127.0.0.1:0', logLevel: 'silent', ...config, dataDir },
    opts.memory ? new MemoryBackend() : undefined,
  );
  return {
    url: server.address,
    dataDir,
    server,
    stop: async (o = {}) => {
      await server.close();
      if (!o.keepDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
