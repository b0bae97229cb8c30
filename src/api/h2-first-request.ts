/**
 * Holds a new HTTP/2 (gRPC) connection in JavaScript until its first request has arrived, so
 * that request's `:authority` can be mended (h2-authority.ts) before Node's HTTP/2 layer, which
 * would refuse it, reads the connection. From the hand-over on, the connection is Node's alone:
 * only the first few frames ever pass through here.
 *
 * Some clients (grpc-go, so etcdctl) send no request before the server's connection preface (a
 * SETTINGS frame), so this sends an empty one at once. The client acknowledges it; that ACK is
 * taken out of the stream, because Node's HTTP/2 session never sent that SETTINGS frame and
 * would take an ACK for it as a protocol error. Node's session then sends its own SETTINGS, as
 * a server may send several.
 *
 * Hand-over happens once our SETTINGS is acknowledged and either the first HEADERS frame has
 * arrived or the client stayed quiet for `quietMs` after its ACK (a client may connect early and
 * ask later). Everything read so far, mended, goes back into the socket (unshift) first.
 * A client that sends what this cannot follow (no preface, an oversized frame) is handed over
 * as it is, for Node to refuse; one that does not acknowledge within `timeoutMs` is dropped.
 */
import type net from 'node:net';
import { mendAuthority } from './h2-authority.ts';
import { DEFAULT_MAX_FRAME_BYTES, F_ACK, F_END_HEADERS, F_PADDED, F_PRIORITY, FRAME_HEADER_BYTES, PREFACE, settingsFrame, T_HEADERS, T_SETTINGS } from './h2/frames.ts';

const EMPTY_SETTINGS = settingsFrame([]);
/** Bytes held here at most; a client sending more before its first request is handed over. */
const MAX_HELD_BYTES = 256 * 1024;

export interface FirstRequestOptions {
  /** ms to wait for the preface and the ACK of our SETTINGS before giving up on the connection. */
  timeoutMs: number;
  /** ms to wait for a first request after the ACK before handing the connection over anyway. */
  quietMs: number;
}

/**
 * Reads `socket` (already paused, `head` its first bytes, taken off it) until the first request,
 * then puts what it read back and calls `handOver(socket)`.
 */
export function holdFirstRequest(socket: net.Socket, head: Buffer, o: FirstRequestOptions, handOver: (s: net.Socket) => void): void {
  let pending = head; // unparsed bytes, from the preface (or the first unparsed frame) on
  const kept: Buffer[] = [];
  let prefaceSeen = false;
  let acked = false;
  let headersSeen = false;
  let held = head.length;
  let quiet: NodeJS.Timeout | undefined;
  // A client that has not acknowledged by then is broken: handing it over would let its late ACK
  // reach Node's session.
  const deadline = setTimeout(() => socket.destroy(), o.timeoutMs);
  deadline.unref();

  const finish = (): void => {
    clearTimeout(deadline);
    clearTimeout(quiet);
    socket.pause();
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('close', onClose);
    kept.push(pending);
    socket.unshift(Buffer.concat(kept));
    handOver(socket);
  };
  const onError = (): void => {
    socket.destroy();
  };
  const onClose = (): void => {
    clearTimeout(deadline);
    clearTimeout(quiet);
  };

  /** Takes whole frames off `pending`; true once the connection may be handed over. */
  const parse = (): boolean => {
    if (!prefaceSeen) {
      if (pending.length < PREFACE.length) return false;
      if (!pending.subarray(0, PREFACE.length).equals(PREFACE)) return true; // not HTTP/2: Node says so
      prefaceSeen = true;
      kept.push(pending.subarray(0, PREFACE.length));
      pending = pending.subarray(PREFACE.length);
    }
    while (pending.length >= FRAME_HEADER_BYTES) {
      const len = pending.readUIntBE(0, 3);
      if (len > DEFAULT_MAX_FRAME_BYTES) return true; // Node rejects it as it would have
      if (pending.length < FRAME_HEADER_BYTES + len) break;
      const frame = pending.subarray(0, FRAME_HEADER_BYTES + len);
      pending = pending.subarray(FRAME_HEADER_BYTES + len);
      const type = frame[3]!;
      const flags = frame[4]!;
      if (type === T_SETTINGS && flags & F_ACK && !acked) {
        acked = true; // the ACK of our SETTINGS: Node's session must not see it
        continue;
      }
      if (type === T_HEADERS && !headersSeen) {
        headersSeen = true;
        kept.push(mendHeadersFrame(frame) ?? frame);
        continue;
      }
      kept.push(frame);
    }
    return acked && headersSeen;
  };

  const onData = (chunk: Buffer): void => {
    held += chunk.length;
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    if (parse() || held > MAX_HELD_BYTES) return finish();
    if (acked && !quiet) quiet = setTimeout(finish, o.quietMs);
  };

  socket.on('error', onError);
  socket.on('close', onClose);
  socket.write(EMPTY_SETTINGS);
  if (parse()) return finish();
  socket.on('data', onData);
  socket.resume();
}

/** A HEADERS frame whose (complete) block needed its :authority mended, rebuilt; else undefined. */
export function mendHeadersFrame(frame: Buffer): Buffer | undefined {
  const flags = frame[4]!;
  if (!(flags & F_END_HEADERS)) return undefined; // the block goes on in CONTINUATION frames
  let at = FRAME_HEADER_BYTES;
  let end = frame.length;
  if (flags & F_PADDED) {
    end -= frame[at]!;
    at += 1;
  }
  const priority = flags & F_PRIORITY ? frame.subarray(at, at + 5) : Buffer.alloc(0);
  at += priority.length;
  if (at > end) return undefined;
  const block = mendAuthority(frame.subarray(at, end));
  if (!block) return undefined;
  const payload = priority.length + block.length;
  const header = Buffer.from(frame.subarray(0, FRAME_HEADER_BYTES));
  header.writeUIntBE(payload, 0, 3);
  header[4] = flags & ~F_PADDED; // padding dropped
  return Buffer.concat([header, priority, block]);
}
