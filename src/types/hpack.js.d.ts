/**
 * The parts of hpack.js (CommonJS, untyped) in use: its Huffman-aware string decoder
 * (src/api/h2-authority.ts) and its header-block decompressor (bench/h2-framing-probe.ts).
 */
declare module 'hpack.js' {
  interface Decoder {
    push(chunk: Buffer): void;
    /** Reads one HPACK string literal (RFC 7541 §5.2): a Buffer when raw, the octets when Huffman-coded. */
    decodeStr(): Buffer | number[];
  }
  interface Decompressor {
    write(block: Buffer): void;
    execute(): void;
    /** The next decoded header, or null when the block is used up. */
    read(): { name: string; value: string } | null;
  }
  const hpack: { decoder: { create(): Decoder }; decompressor: { create(options: { table: { size: number } }): Decompressor } };
  export default hpack;
}
