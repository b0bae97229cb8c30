/**
 * The Cluster service on the gateway. Membership changes (member/add, remove, update, promote) are
 * refused as membership.ts says.
 *
 * POST /v3/cluster/member/list as etcd 3.4 answers it for a one-member cluster: this server is
 * the only member. Its ID is the header's member_id, its name etcd's --name (default "default"),
 * its clientURLs the advertised ones (--advertise-client-urls, else where it listens). watchkv
 * has no raft peers, so peerURLs is an empty list — written out (jsonpb would omit it) because
 * clients index member["peerURLs"] unguarded.
 * The header carries no revision: etcd's cluster header is filled from the member, not the store.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.ts';
import { encodeHeader } from '../json.ts';
import { readUint64 } from '../json-read.ts';
import { sendJson } from '../send-json.ts';
import { membership } from '../membership.ts';
import { body } from './kv.ts';

export function clusterRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/v3/cluster/member/list', async (req, reply) => {
    // The body is a MemberListRequest (no fields in 3.4): still rejected when it is not JSON.
    body(req.body);
    const { identity: id } = ctx;
    const member = `{"ID":"${id.memberId}","name":${JSON.stringify(ctx.config.name)},"peerURLs":[],"clientURLs":${JSON.stringify(clientUrls(req.socket.localPort, ctx))}}`;
    return sendJson(reply, 200, `{"header":${encodeHeader(id, 0)},"members":[${member}]}`);
  });
  // Membership changes: every one is refused (membership.ts), after its body is checked.
  const m = membership(ctx.identity);
  app.post('/v3/cluster/member/add', async (req) => {
    body(req.body);
    m.add();
  });
  app.post('/v3/cluster/member/remove', async (req) => m.remove(readUint64(body(req.body), 'ID')));
  app.post('/v3/cluster/member/update', async (req) => m.update(readUint64(body(req.body), 'ID')));
  app.post('/v3/cluster/member/promote', async (req) => m.promote(readUint64(body(req.body), 'ID')));
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
