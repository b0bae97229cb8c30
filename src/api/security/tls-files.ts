/**
 * The TLS certificate, key and trusted CA of the https:// listeners, from their files, re-read
 * when the files change, so certificates can be rotated without a restart (cert-manager,
 * kubeadm renewals, a cron job with certbot). etcd does the same since 3.2: it reads its files
 * again for every new client connection.
 *
 * Each new TLS connection asks for `fresh()` before its handshake. That stats the files (one
 * look at a time; connections arriving meanwhile share it) and, when any of them changed (inode,
 * size or mtime: a rename, a symlink swap or a rewrite in place), reads them all and checks that
 * they make a usable TLS context. Invariant: the material handed out was always valid together.
 * Files caught halfway through a rotation (a new certificate beside the old key, a truncated
 * file, a file missing for a moment) are not used: the previous material stays, a warning names
 * the reason once, and the files are read again as soon as they change again.
 */
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';

export interface TlsPaths {
  certFile: string;
  keyFile: string;
  trustedCaFile?: string;
}

/** PEM contents that belong together; a new object each time the files change. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** What the listeners need: the material as of now. */
export interface TlsSource {
  fresh(): Promise<TlsMaterial>;
}

/** For /metrics: what is served, and how rotations went. */
export interface TlsStatus {
  certFile: string;
  /** ms since the epoch: the served certificate's notAfter (its expiry). */
  notAfterMs: number;
  /** File changes taken into use, and changes refused (unusable files; the previous pair stayed). */
  applied: number;
  refused: number;
}

export type TlsLog = (level: 'info' | 'warn', fields: Record<string, unknown>, msg: string) => void;

const FLAGS = { certFile: 'cert-file', keyFile: 'key-file', trustedCaFile: 'trusted-ca-file' } as const;

export class TlsFiles implements TlsSource {
  private material: TlsMaterial;
  /** The served certificate's notAfter, ms since the epoch (parsed once per material). */
  private notAfterMs: number;
  /** The files' identities when last read (or last refused); '' until the first look. */
  private seen = '';
  private looking: Promise<TlsMaterial> | null = null;
  private applied = 0;
  private refused = 0;

  private constructor(
    private readonly paths: TlsPaths,
    private readonly log: TlsLog,
    material: TlsMaterial,
  ) {
    this.material = material;
    this.notAfterMs = notAfterMs(material.cert);
  }

  /** Reads the files at start; an unreadable file or an unusable pair stops the start, naming it. */
  static load(paths: TlsPaths, log: TlsLog): TlsFiles {
    const read = (field: keyof typeof FLAGS): Buffer => {
      try {
        return readFileSync(paths[field]!);
      } catch (err) {
        throw new Error(`--${FLAGS[field]} ${paths[field]}: ${(err as Error).message}`);
      }
    };
    const material: TlsMaterial = { cert: read('certFile'), key: read('keyFile'), ca: paths.trustedCaFile === undefined ? undefined : read('trustedCaFile') };
    const problem = unusable(material);
    if (problem) throw new Error(`--cert-file ${paths.certFile} / --key-file ${paths.keyFile}: ${problem}`);
    // The identities are taken on the first look; until then any change is caught by comparing
    // contents, so a file replaced between this read and the first look is not missed.
    return new TlsFiles(paths, log, material);
  }

  status(): TlsStatus {
    return { certFile: this.paths.certFile, notAfterMs: this.notAfterMs, applied: this.applied, refused: this.refused };
  }

  /** The material for a connection starting now: the files' current contents if they changed. */
  fresh(): Promise<TlsMaterial> {
    this.looking ??= this.look().finally(() => {
      this.looking = null;
    });
    return this.looking;
  }

  private async look(): Promise<TlsMaterial> {
    let seen: string;
    try {
      seen = (await Promise.all(this.files().map(async (p) => identity(await stat(p))))).join(' ');
    } catch (err) {
      return this.keep(`cannot stat: ${(err as Error).message}`, `stat failed ${(err as Error).message}`);
    }
    if (seen === this.seen) return this.material;
    let next: TlsMaterial;
    try {
      const [cert, key, ca] = await Promise.all(this.files().map((p) => readFile(p)));
      next = { cert: cert!, key: key!, ca };
    } catch (err) {
      return this.keep(`cannot read: ${(err as Error).message}`, seen);
    }
    if (same(next, this.material)) {
      this.seen = seen;
      return this.material;
    }
    const problem = unusable(next);
    if (problem) return this.keep(problem, seen);
    this.seen = seen;
    this.material = next;
    this.notAfterMs = notAfterMs(next.cert);
    this.applied++;
    this.log('info', { certFile: this.paths.certFile }, 'TLS certificate files changed: new connections use them');
    return next;
  }

  /** Keeps the previous material; warns once per state of the files. */
  private keep(reason: string, seen: string): TlsMaterial {
    if (seen !== this.seen) {
      this.refused++;
      this.log('warn', { certFile: this.paths.certFile, keyFile: this.paths.keyFile, reason }, 'TLS certificate files changed but cannot be used: keeping the previous ones');
      this.seen = seen;
    }
    return this.material;
  }

  private files(): string[] {
    const { certFile, keyFile, trustedCaFile } = this.paths;
    return trustedCaFile === undefined ? [certFile, keyFile] : [certFile, keyFile, trustedCaFile];
  }
}

function notAfterMs(cert: Buffer): number {
  // The first certificate in the file is the server's own (the rest, if any, its chain).
  return Date.parse(new X509Certificate(cert).validTo);
}

function identity(s: { ino: number; size: number; mtimeMs: number }): string {
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}

function same(a: TlsMaterial, b: TlsMaterial): boolean {
  return a.cert.equals(b.cert) && a.key.equals(b.key) && (a.ca === undefined ? b.ca === undefined : b.ca !== undefined && a.ca.equals(b.ca));
}

/** Why the material cannot make a TLS context (a bad PEM, a key that is not the certificate's), or undefined. */
function unusable(m: TlsMaterial): string | undefined {
  try {
    tls.createSecureContext({ cert: m.cert, key: m.key, ca: m.ca });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
