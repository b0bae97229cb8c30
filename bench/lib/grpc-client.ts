/**
 * A lean etcd gRPC client for the benchmarks, the same for etcd and watchkv: raw grpc-js calls
 * with hand-encoded requests (encoded once, reused) and responses left as bytes, so the harness
 * spends its CPU on load, not on protobuf reflection. Each GrpcConn is its own HTTP/2 connection
 * (a local subchannel pool), as separate clients would be.
 */
import * as grpc from '@grpc/grpc-js';
import { ProtobufWriter } from '../../src/lib/protobuf-writer.ts';

const raw = (b: Buffer): Buffer => b;

export class GrpcConn {
  readonly client: grpc.Client;

  constructor(url: string) {
    this.client = new grpc.Client(url.replace(/^http:\/\//, ''), grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': -1,
      'grpc.enable_channelz': 0, // per-call bookkeeping for a debug service nobody queries here
      // A 4 MiB window, as a real client reaches: grpc-go (etcd's clientv3) grows its window by
      // BDP estimation up to 16 MiB. At HTTP/2's default 64 KiB, ten watch streams could carry
      // only ~1.3M small events/s on this box — the window, not either server, set the pace.
      'grpc-node.flow_control_window': 4 << 20,
    });
  }

  /** One unary call with an encoded request; resolves with the encoded response. */
  unary(path: string, request: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(path, raw, raw, request, (err: grpc.ServiceError | null, res?: Buffer) => (err ? reject(err) : resolve(res!)));
    });
  }

  /** A raw bidi stream (Watch.Watch): write encoded requests, read encoded responses. */
  stream(path: string): grpc.ClientDuplexStream<Buffer, Buffer> {
    return this.client.makeBidiStreamRequest(path, raw, raw);
  }

  close(): void {
    this.client.close();
  }
}

export const encodePut = (key: Buffer, value: Buffer): Buffer => new ProtobufWriter(key.length + value.length + 8).bytes(1, key).bytes(2, value).finish();
export const encodeRange = (key: Buffer, rangeEnd?: Buffer): Buffer => {
  const w = new ProtobufWriter().bytes(1, key);
  if (rangeEnd) w.bytes(2, rangeEnd);
  return w.finish();
};
/** WatchRequest{create_request{key, range_end}} */
export const encodeWatchCreate = (key: Buffer, rangeEnd: Buffer): Buffer =>
  new ProtobufWriter().message(1, new ProtobufWriter().bytes(1, key).bytes(2, rangeEnd).finish()).finish();

/** A varint at `pos`: [value, next pos]. 10-byte varints (negative int64) come back as -1. */
export function readVarint(b: Buffer, pos: number): [number, number] {
  let n = 0;
  let mul = 1;
  const start = pos;
  for (;;) {
    const byte = b[pos++]!;
    n += (byte & 0x7f) * mul;
    if (byte < 0x80) break;
    mul *= 128;
  }
  return [pos - start >= 10 ? -1 : n, pos];
}

/**
 * Walks a message's fields: `onField(field, wireType, value, start, end)`; varints give their
 * value, length-delimited fields their [start, end) in `b`.
 */
export function eachField(b: Buffer, from: number, to: number, onField: (field: number, value: number, start: number, end: number) => void): void {
  let pos = from;
  while (pos < to) {
    let tag: number;
    [tag, pos] = readVarint(b, pos);
    const field = tag >>> 3;
    const wt = tag & 7;
    if (wt === 0) {
      let v: number;
      [v, pos] = readVarint(b, pos);
      onField(field, v, pos, pos);
    } else if (wt === 2) {
      let len: number;
      [len, pos] = readVarint(b, pos);
      onField(field, len, pos, pos + len);
      pos += len;
    } else if (wt === 1) pos += 8;
    else if (wt === 5) pos += 4;
    else throw new Error(`unsupported wire type ${wt}`);
  }
}
