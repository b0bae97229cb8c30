/**
 * A strict walk over one protobuf message's wire format, as grpc-go's (gogo) unmarshalling reads
 * etcd's requests: a varint or fixed field cut short, a length-delimited field running past the
 * end of the message, field number 0, an unknown wire type, or a group left open or closed
 * without its start is a malformed message. Groups (proto2's, in unknown fields) are skipped, as
 * grpc-go skips them.
 *
 * Why: protobufjs, which decodes the requests of the services grpc-js serves, clips a string
 * field that runs past the end to the bytes that are there and accepts the message, so a torn
 * AuthUserAdd could create a user under a cut name. Walking the top level once before protobufjs
 * catches exactly that case; protobufjs already refuses the others (a cut bytes field, a nested
 * message whose fields run out).
 */
export type LenField = (field: number, start: number, end: number) => void;

/** Throws on a malformed message; `onLen` sees each length-delimited field's bytes. */
export function checkWire(b: Uint8Array, onLen?: LenField): void {
  let pos = 0;
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (pos >= b.length) throw new Error('unexpected EOF');
      const byte = b[pos++]!;
      if (shift < 49) v += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return v;
    }
    throw new Error('varint overflow');
  };
  const skip = (n: number): void => {
    if (pos + n > b.length) throw new Error('unexpected EOF');
    pos += n;
  };
  /** Reads fields until the end, or until the end-group tag of `group` (a field number). */
  const fields = (group: number, depth: number): void => {
    if (depth > 100) throw new Error('groups nested too deep');
    while (pos < b.length) {
      const tag = varint();
      const field = Math.floor(tag / 8);
      const wire = tag % 8;
      if (field === 0) throw new Error('illegal tag 0');
      if (wire === 0) varint();
      else if (wire === 1) skip(8);
      else if (wire === 5) skip(4);
      else if (wire === 2) {
        const len = varint();
        const start = pos;
        skip(len);
        if (depth === 0) onLen?.(field, start, pos);
      } else if (wire === 3) fields(field, depth + 1);
      else if (wire === 4) {
        if (field !== group) throw new Error('end group without its start');
        return;
      } else throw new Error(`illegal wire type ${wire}`);
    }
    if (group !== 0) throw new Error('unexpected EOF');
  };
  fields(0, 0);
}
