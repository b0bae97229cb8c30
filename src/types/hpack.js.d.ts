/**
 * The parts of hpack.js (CommonJS, untyped) in use: its Huffman-aware bit decoder and header
 * table (src/api/h2/hpack-decoder.ts, src/api/h2-authority.ts) and its header-block decompressor
 * (bench/h2-framing-probe.ts). Its checks fail by throwing (an assertion), never by returning.
 */
declare module 'hpack.js' {
  interface Decoder {
    push(chunk: Buffer): void;
    isEmpty(): boolean;
    decodeBit(): number;
    decodeInt(): number;
    /** Reads one HPACK string literal (RFC 7541 §5.2): a Buffer when raw, the octets when Huffman-coded. */
    decodeStr(): Buffer | number[];
  }
  interface Table {
    lookup(index: number): { name: string; value: string; nameSize: number };
    add(name: string, value: string, nameSize: number, valueSize: number): void;
    updateSize(size: number): void;
  }
  interface Decompressor {
    write(block: Buffer): void;
    execute(): void;
    /** The next decoded header, or null when the block is used up. */
    read(): { name: string; value: string } | null;
  }
  const hpack: {
    decoder: { create(): Decoder };
    table: { create(options: { maxSize: number }): Table };
    decompressor: { create(options: { table: { maxSize: number } }): Decompressor };
  };
  export default hpack;
}
