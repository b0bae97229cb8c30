/**
 * Splits a byte stream of concatenated JSON objects (`{…}{…}` or one per line) into the text of
 * each object as soon as its closing brace arrives, so a streaming request is served message by
 * message instead of at body end. Tracks brace depth outside strings; it does not validate —
 * JSON.parse does that on each piece.
 */
export type Piece = { text: string } | { error: string };

export class JsonSplitter {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;
  /** Index in buf up to which characters were scanned. */
  private pos = 0;

  constructor(private readonly maxObjectBytes: number) {}

  /** Feeds a chunk; returns the complete pieces it finished (an error piece ends the scan). */
  push(chunk: string): Piece[] {
    this.buf += chunk;
    const out: Piece[] = [];
    for (; this.pos < this.buf.length; this.pos++) {
      const c = this.buf[this.pos]!;
      if (this.depth === 0) {
        if (c === ' ' || c === '\n' || c === '\r' || c === '\t') continue;
        if (c !== '{') {
          out.push({ error: `invalid character '${c}' looking for beginning of value` });
          this.buf = '';
          this.pos = 0;
          return out;
        }
        this.start = this.pos;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
      } else if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') this.depth++;
      else if (c === '}' || c === ']') {
        this.depth--;
        if (this.depth === 0) out.push({ text: this.buf.slice(this.start, this.pos + 1) });
      }
    }
    // Drop what was consumed; keep the object in progress.
    const keepFrom = this.depth > 0 ? this.start : this.buf.length;
    this.buf = this.buf.slice(keepFrom);
    this.pos -= keepFrom;
    this.start = this.depth > 0 ? 0 : -1;
    if (this.buf.length > this.maxObjectBytes) {
      out.push({ error: `grpc: received message larger than max (more than ${this.maxObjectBytes} bytes)` });
      this.buf = '';
      this.pos = 0;
      this.depth = 0;
    }
    return out;
  }

  /** True while an object is incomplete (for the end-of-body check). */
  pending(): boolean {
    return this.depth > 0;
  }
}
