/**
 * Entry point: load config → open LevelDB → store → watch engine → app → listen; close
 * gracefully on SIGINT/SIGTERM (stop accepting, close watch sockets with 1001, let in-flight
 * requests finish, close the store). `startServer` is what the e2e tests use.
 */
import { resolve } from 'node:path';
import { pino } from 'pino';
import { pathToFileURL } from 'node:url';
import type { Backend } from './backend/backend.ts';
import { LevelBackend } from './backend/level-backend.ts';
import { openKvStore } from './mvcc/kv-store.ts';
import { WatchableStore } from './watch/watchable-store.ts';
import { buildApp, closeWatchConnections } from './app.ts';
import { ConfigError, HELP, defaultConfig, loadConfig, type ServerConfig } from './cli-options.ts';
import { loadIdentity, randomIdentity } from './api/identity.ts';

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:2379 */
  address: string;
  store: WatchableStore;
  close(): Promise<void>;
}

/** Starts a server (missing config fields take DEFAULTS); `backend` overrides the LevelBackend on config.dataDir (tests: MemoryBackend). */
export async function startServer(partial: Partial<ServerConfig>, backend?: Backend): Promise<RunningServer> {
  const config = defaultConfig(partial);
  const identity = backend ? randomIdentity() : await loadIdentity(resolve(config.dataDir));
  // The app's logger exists only once the store is open; a long open reports through its own.
  const openLog = pino({ level: config.logLevel });
  const kv = await openKvStore(backend ?? new LevelBackend(resolve(config.dataDir)), {
    maxRequestBytes: config.maxRequestBytes,
    maxTxnOps: config.maxTxnOps,
    onRestoreProgress: ({ phase, records, keys, elapsedMs, checkpointRejected }) => {
      const fields = { records, keys, elapsedMs: Math.round(elapsedMs), ...(checkpointRejected ? { checkpointRejected } : {}) };
      if (phase === 'checkpoint') openLog.info(fields, 'opening store: index checkpoint loaded, reading the records after it');
      else if (phase === 'scan') openLog.info(fields, 'opening store: reading records');
      else openLog.info(fields, 'store opened');
    },
  });
  const store = new WatchableStore(kv, {
    maxWatchersPerStream: config.maxWatchersPerStream,
    progressNotifyIntervalMs: config.progressNotifyIntervalMs,
    watchHistoryBytes: config.watchHistoryBytes,
  });
  let app;
  try {
    app = await buildApp({ kv: store, engine: store, config, identity });
    const url = new URL(config.listenClientUrls.split(',')[0]!);
    await app.fastify.listen({ host: url.hostname, port: Number(url.port || 80) });
  } catch (err) {
    await store.close();
    throw err;
  }
  const { fastify, ctx } = app;
  const addr = fastify.server.address();
  const address = typeof addr === 'object' && addr ? `http://${addr.address}:${addr.port}` : String(addr);
  fastify.log.info({ address, dataDir: backend ? '(memory)' : resolve(config.dataDir), revision: store.currentRevision() }, 'watchkv started');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      closeWatchConnections(ctx);
      // fastify.close stops accepting and waits for in-flight requests (commits) to answer.
      const grace = new Promise<void>((r) => setTimeout(r, config.shutdownGraceMs).unref());
      await Promise.race([fastify.close(), grace]);
      await store.close();
      fastify.log.info({ revision: store.currentRevision() }, 'watchkv stopped');
    })());
  return { address, store, close };
}

async function main(): Promise<void> {
  let config: ServerConfig | 'help';
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`watchkv: ${err.message}\n\n${HELP}`);
    process.exit(2);
  }
  if (config === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const server = await startServer(config);
  const stop = (): void => {
    server.close().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error('watchkv: failed to start:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
