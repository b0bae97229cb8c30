/**
 * Certificates for TLS tests, made with the openssl CLI in a temp dir: CAs, server certificates
 * for 127.0.0.1 / localhost, and client certificates whose CN is the user.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class TestPki {
  readonly dir: string;

  constructor(prefix = 'watchkv-pki-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
  }

  /** A file in the dir: `path('ca.crt')`. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** A self-signed CA: NAME.crt and NAME.key. */
  ca(name = 'ca'): void {
    this.ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', this.path(`${name}.key`), '-out', this.path(`${name}.crt`), '-days', '2', '-subj', `/CN=${name} (watchkv test)`);
  }

  /**
   * NAME.crt / NAME.key signed by `by`: a server certificate (127.0.0.1 and localhost) or a
   * client one with CN `cn`; `serial` (hex, 0x...) tells certificates apart. `server+client` is a
   * server certificate that may also act as a client: etcd 3.4's JSON gateway dials its own gRPC
   * port with the server's certificate, so with --client-cert-auth it needs one.
   */
  leaf(name: string, o: { usage: 'server' | 'client' | 'server+client'; cn?: string; by?: string; serial?: string }): void {
    const by = o.by ?? 'ca';
    const server = o.usage !== 'client';
    const cn = o.cn ?? (server ? 'localhost' : name);
    this.ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', this.path(`${name}.key`), '-out', this.path(`${name}.csr`), '-subj', `/CN=${cn}`);
    const san = server ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' : '';
    const usage = { server: 'serverAuth', client: 'clientAuth', 'server+client': 'serverAuth,clientAuth' }[o.usage];
    writeFileSync(this.path(`${name}.ext`), `${san}extendedKeyUsage=${usage}\n`);
    const serial = o.serial ? ['-set_serial', o.serial] : ['-CAcreateserial'];
    this.ssl('x509', '-req', '-in', this.path(`${name}.csr`), '-CA', this.path(`${by}.crt`), '-CAkey', this.path(`${by}.key`), ...serial, '-out', this.path(`${name}.crt`), '-days', '2', '-extfile', this.path(`${name}.ext`));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private ssl(...args: string[]): void {
    execFileSync('openssl', args, { stdio: 'ignore' });
  }
}
