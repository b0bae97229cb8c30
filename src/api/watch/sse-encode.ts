/**
 * Server-Sent Events messages of the browser watch (`/v1/watch/{key}`), one per revision:
 *
 *   id: <revision>
 *   event: change
 *   data: {"revision":R,"events":[{"type":"put","key","value","create_revision","mod_revision","version","lease","prev":{…}}]}
 *
 * so an EventSource's Last-Event-ID is a revision. Keys and values are in the plain-REST form
 * (rest-json.ts: text, or `*_base64` when not UTF-8). JSON never holds a raw newline, so each
 * payload is one `data:` line.
 */
import type { Event } from '../../mvcc/kv.ts';
import { bytesField, encodeRestKv } from '../rest/rest-json.ts';

/**
 * The SSE encodings memoized beside the gateway's (json.ts keeps `plain` / `withPrev` in the same
 * Event.wire object): events are immutable and shared, so one encoding serves every SSE client.
 */
interface SseMemo {
  sse?: string;
  ssePrev?: string;
}

function encodeSseEvent(ev: Event, withPrev: boolean): string {
  let memo = ev.wire as SseMemo | undefined;
  if (memo === undefined) ev.wire = memo = {};
  if (withPrev && ev.prevKv) return (memo.ssePrev ??= encodeOpen(ev) + `,"prev":${encodeRestKv(ev.prevKv)}}`);
  return (memo.sse ??= encodeOpen(ev) + '}');
}

function encodeOpen(ev: Event): string {
  if (ev.type === 'DELETE') return `{"type":"delete",${bytesField('key', ev.kv.key)},"mod_revision":${ev.kv.modRevision}`;
  return '{"type":"put",' + encodeRestKv(ev.kv).slice(1, -1);
}

/** One `change` message for the events of one revision. */
export function changeMessage(revision: number, events: readonly Event[], withPrev: boolean): string {
  let data = '';
  for (const ev of events) data += (data ? ',' : '') + encodeSseEvent(ev, withPrev);
  return `id: ${revision}\nevent: change\ndata: {"revision":${revision},"events":[${data}]}\n\n`;
}

/**
 * The change messages of a batch of events (one or more whole revisions, in order): one message
 * per revision. A DELETE's kv.modRevision is the deletion revision, so every event carries its
 * revision in kv.modRevision.
 */
export function changeMessages(events: readonly Event[], withPrev: boolean, out: (message: string, revision: number, events: number) => void): void {
  let start = 0;
  for (let i = 1; i <= events.length; i++) {
    const rev = events[start]!.kv.modRevision;
    if (i < events.length && events[i]!.kv.modRevision === rev) continue;
    const group = start === 0 && i === events.length ? events : events.slice(start, i);
    out(changeMessage(rev, group, withPrev), rev, group.length);
    start = i;
  }
}

/** `event: progress` with `id` = a revision up to which the client has everything. */
export const progressMessage = (revision: number): string => `id: ${revision}\nevent: progress\ndata: {"revision":${revision}}\n\n`;

/** The resume point was compacted away: the client must re-read and watch from the present. */
export const compactedMessage = (compactRevision: number): string => `event: compacted\ndata: {"compact_revision":${compactRevision}}\n\n`;

/** The watch could not be created or was canceled by the server. */
export const errorMessage = (reason: string): string => `event: error\ndata: ${JSON.stringify({ error: reason })}\n\n`;

// ---- watchkv extensions ----

/** A state transfer begins: the client drops what it holds. No id: not a resume point. */
export const snapshotStartMessage = (revision: number, compactRevision?: number): string =>
  `event: snapshot_start\ndata: {"revision":${revision}${compactRevision ? `,"compact_revision":${compactRevision}` : ''}}\n\n`;

/** One page of the state: the keys as they are at `revision` (no id: the transfer is not done). */
export function snapshotMessage(revision: number, events: readonly Event[]): string {
  let data = '';
  for (const ev of events) data += (data ? ',' : '') + encodeSseEvent(ev, false);
  return `event: snapshot\ndata: {"revision":${revision},"events":[${data}]}\n\n`;
}

/** The state is complete at `revision`: a resume point like a progress. */
export const snapshotDoneMessage = (revision: number): string => `id: ${revision}\nevent: snapshot_done\ndata: {"revision":${revision}}\n\n`;

export function laggingMessage(l: { behindRevisions: number; pendingBytes: number; disconnectInMs?: number }): string {
  const t = l.disconnectInMs === undefined ? '' : `,"disconnect_in_ms":${l.disconnectInMs}`;
  return `event: lagging\ndata: {"behind_revisions":${l.behindRevisions},"pending_bytes":${l.pendingBytes}${t}}\n\n`;
}

/** A comment line: ignored by EventSource, keeps idle proxies from closing the connection. */
export const HEARTBEAT = ': keep-alive\n\n';
