/** The ResponseHeader as a plain object, for the messages protobufjs encodes (not the hot paths). */
import type { Identity } from '../json.ts';

export interface HeaderObject {
  cluster_id: string;
  member_id: string;
  revision: string;
  raft_term: string;
}

export function headerObject(id: Identity, revision: number): HeaderObject {
  return { cluster_id: id.clusterId, member_id: id.memberId, revision: String(revision), raft_term: id.raftTerm };
}
