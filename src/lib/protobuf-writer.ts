/**
 * A minimal protocol buffers (proto3) encoder for messages whose shape is fixed and known in
 * advance, written by hand where a generic encoder costs too much (the watch fan-out path, big
 * range responses): no reflection, no intermediate objects.
 *
 * Proto3 rules kept here: scalar fields at their default (0, false, empty) are not written;
 * int64 is a varint of the two's complement (a negative number takes 10 bytes); embedded
 * messages and bytes are length-delimited (wire type 2). Nested messages are encoded first and
 * embedded as bytes, so a message encoded once (an event) can be embedded in many parents.
 */

const VARINT = 0;
const LEN = 2;

export class ProtobufWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 64) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Unsigned varint of a non-negative safe integer. */
  private varint(n: number): void {
    this.ensure(10);
    while (n > 0x7f) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  private bigVarint(n: bigint): void {
    let v = BigInt.asUintN(64, n);
    this.ensure(10);
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /** int64 / uint64 / enum from a JS number (negatives as int64 two's complement); 0 is omitted. */
  int(field: number, n: number): this {
    if (n === 0) return this;
    this.tag(field, VARINT);
    if (n > 0 && n <= Number.MAX_SAFE_INTEGER) this.varint(n);
    else this.bigVarint(BigInt(n));
    return this;
  }

  /** int64 / uint64 from a bigint or a decimal string (ids beyond 2^53); 0 is omitted. */
  bigint(field: number, n: bigint | string): this {
    const v = typeof n === 'string' ? BigInt(n) : n;
    if (v === 0n) return this;
    this.tag(field, VARINT);
    this.bigVarint(v);
    return this;
  }

  bool(field: number, b: boolean | undefined): this {
    if (!b) return this;
    this.tag(field, VARINT);
    this.buf[this.pos++] = 1;
    return this;
  }

  /** bytes, or an embedded message already encoded; empty is omitted unless `always`. */
  bytes(field: number, b: Buffer, always = false): this {
    if (b.length === 0 && !always) return this;
    this.tag(field, LEN);
    this.varint(b.length);
    this.ensure(b.length);
    this.pos += b.copy(this.buf, this.pos);
    return this;
  }

  string(field: number, s: string | undefined): this {
    if (!s) return this;
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  /** An embedded message, written even when empty (presence matters for messages). */
  message(field: number, encoded: Buffer): this {
    return this.bytes(field, encoded, true);
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
