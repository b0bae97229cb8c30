/**
 * One connection's HPACK decoding state (RFC 7541): the dynamic table the client's encoder fills,
 * kept across every header block of the connection, in the order the blocks arrive.
 *
 * hpack.js does the bit-level work (integers, Huffman strings) and keeps the table; this walks a
 * block's representations itself instead of going through hpack.js's stream-based decompressor,
 * which costs an object-mode stream per block. Every block must be decoded, even one whose
 * stream is refused, or the table drifts from the client's and every later block is misread.
 */
import hpack from 'hpack.js';

export class HpackError extends Error {}

export class HpackDecoder {
  private readonly table;

  /** `maxTableBytes` is the SETTINGS_HEADER_TABLE_SIZE we advertise (4096 unless told). */
  constructor(private readonly maxTableBytes = 4096) {
    this.table = hpack.table.create({ maxSize: maxTableBytes });
  }

  /**
   * The block's fields in order. `maxListBytes` bounds the decoded list (names + values + 32 per
   * field, as SETTINGS_MAX_HEADER_LIST_SIZE counts); past it `tooLarge` is set but the block is
   * still decoded to the end, so the table stays in step. Throws HpackError on a malformed block.
   */
  decode(block: Buffer, maxListBytes: number): { fields: Array<[string, string]>; tooLarge: boolean } {
    const d = hpack.decoder.create();
    d.push(block);
    const fields: Array<[string, string]> = [];
    let listBytes = 0;
    let tooLarge = false;
    let fieldsSeen = false;
    try {
      while (!d.isEmpty()) {
        let name: string;
        let value: string;
        if (d.decodeBit()) {
          const e = this.table.lookup(d.decodeInt());
          name = e.name;
          value = e.value;
        } else {
          const incremental = d.decodeBit() === 1;
          if (!incremental && d.decodeBit()) {
            // A dynamic table size update: only before the block's first field (§4.2).
            if (fieldsSeen) throw new HpackError('table size update after a header field');
            const size = d.decodeInt();
            if (size > this.maxTableBytes) throw new HpackError(`table size update to ${size} exceeds ${this.maxTableBytes}`);
            this.table.updateSize(size);
            continue;
          }
          if (!incremental) d.decodeBit(); // the never-indexed bit: nothing to forward it to
          const index = d.decodeInt();
          let nameSize: number;
          if (index === 0) {
            const raw = d.decodeStr();
            nameSize = raw.length;
            name = Buffer.from(raw).toString('latin1');
          } else {
            const e = this.table.lookup(index);
            name = e.name;
            nameSize = e.nameSize;
          }
          const rawValue = d.decodeStr();
          value = Buffer.from(rawValue).toString('latin1');
          if (incremental) this.table.add(name, value, nameSize, rawValue.length);
        }
        fieldsSeen = true;
        listBytes += name.length + value.length + 32;
        if (listBytes > maxListBytes) tooLarge = true;
        else fields.push([name, value]);
      }
    } catch (err) {
      if (err instanceof HpackError) throw err;
      throw new HpackError(`malformed header block: ${(err as Error).message}`);
    }
    return { fields, tooLarge };
  }
}
