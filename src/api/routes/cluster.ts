/**
 * POST /v3/cluster/member/list as etcd 3.4 answers it for a one-member cluster: this server is
 * the only member. Its ID is the header's member_id, its name etcd's --name (default "default"),
 * its clientURLs the advertised ones (--advertise-client-urls, else where it listens). watchkv has no raft peers, so peerURLs is an empty list —
 * written out (jsonpb would omit it) because clients index member["peerURLs"] unguarded.
 * The header carries no revision: etcd's cluster header is filled from the member, not the store.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';
import { encodeHeader } from '../json.ts';
import { parseJsonObject } from '../json-read.ts';
import { sendJson } from '../send-json.ts';

export function clusterRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/v3/cluster/member/list', async (req, reply) => {
    // The body is a MemberListRequest (no fields in 3.4): still rejected when it is not JSON.
    parseJsonObject(typeof req.body === 'string' ? req.body : '');
    const { identity: id } = ctx;
    const member = `{"ID":"${id.memberId}","name":${JSON.stringify(ctx.config.name)},"peerURLs":[],"clientURLs":${JSON.stringify(clientUrls(req.socket.localPort, ctx))}}`;
    return sendJson(reply, 200, `{"header":${encodeHeader(id, 0)},"members":[${member}]}`);
  });
}

/**
 * What the server advertises once it listens; before that (an app tested without listening) the
 * configured listen URLs, with the port a `:0` listener was given read from the request's socket.
 */
function clientUrls(boundPort: number | undefined, ctx: ApiContext): string[] {
  if (ctx.advertised.clientUrls.length > 0) return ctx.advertised.clientUrls;
  return ctx.config.listenClientUrls.split(',').map((u) => {
    const url = new URL(u);
    if (url.port === '0' && boundPort !== undefined) url.port = String(boundPort);
    return url.origin;
  });
}
