/** The part of hpack.js (CommonJS, untyped) that src/api/h2-authority.ts uses: its Huffman-aware string decoder. */
declare module 'hpack.js' {
  interface Decoder {
    push(chunk: Buffer): void;
    /** Reads one HPACK string literal (RFC 7541 §5.2): a Buffer when raw, the octets when Huffman-coded. */
    decodeStr(): Buffer | number[];
  }
  const hpack: { decoder: { create(): Decoder } };
  export default hpack;
}
