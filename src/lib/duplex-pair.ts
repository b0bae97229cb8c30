/**
 * Two Duplex streams joined back to back, as a socket pair would be: what one writes the other
 * reads, in order; ending one ends the other's readable side; destroying one destroys both.
 * Node 20 has no stream.duplexPair (22.6 added one).
 */
import { Duplex } from 'node:stream';

export function duplexPair(): [Duplex, Duplex] {
  const sides: Duplex[] = [];
  const make = (me: number): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        const other = sides[1 - me]!;
        if (!other.destroyed) other.push(chunk);
        cb();
      },
      final(cb) {
        const other = sides[1 - me]!;
        if (!other.destroyed) other.push(null);
        cb();
      },
      destroy(err, cb) {
        const other = sides[1 - me]!;
        if (!other.destroyed) other.destroy();
        cb(err);
      },
    });
  sides.push(make(0), make(1));
  return [sides[0]!, sides[1]!];
}
