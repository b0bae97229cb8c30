/**
 * The differential conformance suite (test/conformance/differential.test.ts: seeded random
 * put / range / deleterange / txn / compaction / watch sequences, compared response by response
 * with a real etcd 3.4) with watchkv in upstream mode as the watchkv side: a node in front of its
 * own fresh etcd (test/support/etcd-pair.ts, DIFF_AGAINST=upstream). It checks the forwarding
 * (requests and answers, nested txn headers included), the errors, and watches served by the
 * engine from etcd's revisions, against etcd itself. 60 sequences here; TEST_SEQUENCES for more.
 */
process.env.DIFF_AGAINST = 'upstream';
process.env.TEST_SEQUENCES ??= '60';
await import('../conformance/differential.test.ts');
