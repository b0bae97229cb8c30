/**
 * Every URL of --listen-client-urls, each a shared listener (listener.ts) serving the whole API:
 * the gateway, WebSocket, SSE and gRPC. etcd deployments commonly listen twice — kubeadm's
 * manifest gives `https://127.0.0.1:2379,https://<node ip>:2379` — so one port would not do.
 *
 * The listeners act as one: they start together (if any cannot bind, those already bound are
 * closed again and the start fails naming the URL), and stop, drain and close together.
 */
import { listenShared, type ListenTargets, type ListenTls, type SharedListener } from './listener.ts';

export interface ClientListeners {
  /** The bound URLs, in the order given (a `:0` port filled in, e.g. http://127.0.0.1:40125). */
  urls: string[];
  stopAccepting(): void;
  drainHttp(): Promise<void>;
  destroyAll(): void;
}

/** `tls` is used by the https:// URLs (the flags' parser requires it when there is one). */
export async function listenClientUrls(urls: readonly string[], targets: ListenTargets, tls: ListenTls | undefined): Promise<ClientListeners> {
  // node:http starts tracking its connections on its own 'listening' event: the idle list that
  // closeIdleConnections() (drainHttp) reads, and the headers/request timeouts that close a
  // client trickling a request forever. A server fed through 'connection' never emits it, so
  // without this an idle keep-alive client held every shutdown for the whole grace period.
  targets.http.emit('listening');
  const bound: SharedListener[] = [];
  for (const u of urls) {
    const url = new URL(u);
    const secure = url.protocol === 'https:';
    if (secure && tls === undefined) throw new Error(`${u}: an https:// URL needs --cert-file and --key-file`);
    // URL keeps an IPv6 host in brackets; net.listen wants the bare address.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(url.port || (secure ? 443 : 80));
    try {
      bound.push(await listenShared(host, port, targets, undefined, secure ? tls : undefined));
    } catch (err) {
      for (const l of bound) l.stopAccepting();
      throw new Error(`cannot listen on ${u}: ${(err as Error).message}`);
    }
  }
  return {
    urls: bound.map((l) => l.url),
    stopAccepting: () => {
      for (const l of bound) l.stopAccepting();
    },
    drainHttp: async () => {
      await Promise.all(bound.map((l) => l.drainHttp()));
    },
    destroyAll: () => {
      for (const l of bound) l.destroyAll();
    },
  };
}

/** True for 0.0.0.0 and ::, which a client elsewhere cannot dial. */
export function isWildcardUrl(u: string): boolean {
  const host = new URL(u).hostname.replace(/^\[(.*)\]$/, '$1');
  return host === '0.0.0.0' || host === '::';
}
