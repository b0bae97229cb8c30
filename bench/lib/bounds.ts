/**
 * The "what bounds each figure" section of bench/RESULTS.md. Written by hand from profiles of
 * this machine (2 shared cores); the commands that produced the evidence are in the text, so
 * each claim can be checked again. Update it when a change moves a bound.
 */
export const BOUNDS_MD = `## What bounds each figure on this machine

Evidence below comes from profiling runs on 2026-11-30 (\`BENCH_WATCHKV_NODE_ARGS="--cpu-prof
--cpu-prof-dir=/tmp/prof"\` with \`BENCH_ONLY=<scenario> BENCH_SERVERS=watchkv\`, summarised with
\`node --import tsx bench/lib/cpuprofile-top.ts [--by-area] <file>\`). Percentages are shares of the
server's main-thread samples. The box has 2 cores shared by the server, the harness and the writer,
and its speed varied about 2x between sessions (the bare fastify route did 20k req/s on 2026-11-22
and 10-11k on 2026-11-30), so compare ratios within one run. On 2026-12-02 it was noisy within
a run as well: two full runs 20 minutes apart (06:55 and 07:17, nothing else running) gave the
bare fastify route 13.1k ±39% and 21.1k ±32% req/s, HTTP put 2.07x and 1.26x etcd, gRPC put
1.01x and 0.74x, WebSocket fan-out 6.2x and 10.9x; a catch-up replay of the same 100,000 events
took 150-310 ms from one repetition to the next, with the build of the day before and with this
one alike (it took 100-165 ms on 2026-11-30).

- **put (target >= 2x etcd, >= 80% of bare fastify).** CPU, not the disk: a synced LevelDB batch
  takes 0.35-0.5 ms here, and group commit shares it among all writes waiting. Server profile by
  area: the HTTP stack (Node's http internals, native writes, fastify, its router) 52%; watchkv's
  own code (JSON and base64 decoding, validation, txn, index, group commit, response) 14%;
  LevelDB's JS wrappers 5% (11% before writes went through its chained batch); GC 4%; idle 17%
  (waiting for autocannon, which shares the cores). A bare fastify route pays only the first
  part: 80% of its rate allows watchkv's own work at most a quarter of the HTTP stack's time
  per request, and parsing, the txn and the LevelDB write already take about 40% of it (14% + 5%
  against 52%), plus the LevelDB write thread's CPU on the core autocannon needs. Against etcd the ratio moves
  with the box: etcd spreads one request over both cores (gateway, gRPC, raft, bbolt), Node's
  server uses one, so a slower or busier box narrows the gap: 1.98x on 2026-11-22, 1.3-1.6x on
  2026-11-30, when the previous session's build, run back to back with this one, was no faster
  (3.8-5.2k vs 5.1-5.8k req/s); 2.26x at 2026-12-03 17:32 and 1.90x (12,495 vs 6,586, bare
  fastify 17k) at 20:21 on a slower box, where watchkv alone, run twice that evening, did
  14.1-14.4k with group commit's old and new batch start alike. At 21:39: 1.90x again (13,330
  vs 7,008; the bare fastify route 24.3k ±19%).
- **fan-out, W=100 at 1,000 puts/s (target: writer keeps up, p99 <= 50 ms).** Keeps up with
  room to spare. The server's event-loop delay stays under 15 ms p99 (\`monitorEventLoopDelay\`);
  the latency tail is the box: server (~80% of a core with its LevelDB and GC threads), harness
  (~33%) and writer processes compete for 2 cores. Before the 2 s warm-up run was added, a cold
  server's first ~100 puts (JIT, first LevelDB files) made the whole p99.
- **fan-out, W=1000 at 1,000 puts/s (no target).** Since catch-up cohorts (2026-12-02,
  src/watch/route-history.ts) the server keeps this writer at its 1,000 puts/s (it managed ~360
  before), so 1M events/s are due; the one harness process then runs at ~95-105% of a core and
  reads ~0.55-0.6M of them a second. Events wait in its socket buffers, so the latency here (p50
  2-5 s) is the harness's backlog: it was ~160 ms when the server, not the harness, was slower.
- **fan-out at saturation (target >= 10x etcd).** The harness. Each event is sent once per
  watcher (1,000 frames per put); the server builds them from the revision's shared bytes
  and writes each socket's frames of a tick in one syscall. It runs at ~80-95% of a core with
  its main thread partly idle. The single harness process must scan every delivered event (~90%+
  of a core), on the same 2 cores. etcd is bound by its own CPU (~160%: both cores, mostly gateway
  JSON marshalling), so more client headroom would widen the ratio, not narrow it. The row is
  bistable here: if the watchers keep up, every revision is its own frame to each of them and the
  server, not the harness, is the bound (~95% of a core, p50 ~30 ms); if they fall behind, they
  catch up many revisions a frame and the harness is. On 2026-12-03 (a slower box: the bare
  fastify route 17-27k req/s, 39k earlier that day) the server-bound mode delivered 500-665k
  events/s, with a third of its time copying each watcher's copy of the shared events body into
  the tick's buffer and writing the heads into it. Since 4b3a804 a batch of 64 KB or more leaves
  as one corked writev with the bodies by reference (src/api/ws/frame-batcher.ts): 794-795k in
  that mode, and the full run of 20:21 gave 817k vs 75k (10.8x), both repetitions harness-bound; at 21:39 762k vs 71k (10.8x), harness-bound again.
- **catch-up (target >= 20x etcd).** Copying and scanning bytes. 100,000 events are one ~21 MB
  frame. Recent events are kept in memory (\`--watch-history-bytes\`) and encoded after they
  commit, in the loop's quiet intervals (src/api/idle-encoder.ts; under a saturating write load
  the first replay encodes what is missing), so a replay only routes them (~15-30 ms) and
  assembles the frame from ready-made event JSON (~30-50 ms); the client then scans 21 MB (~40-100 ms). Measured in one process, the
  first byte leaves after 65-180 ms and the last arrives after 105-235 ms; across runs, replays
  after the warm-up take 100-165 ms (~600k to ~1M events/s). etcd takes 2-3 s here, so 20x sits
  inside that run-to-run spread. Without encoding on commit a replay ran at ~250k events/s
  (~3 us per event to encode). Splitting the replay into ~1 MB responses, so the client could scan
  while the server built the rest, was tried and measured slower (230-360k events/s): past the
  1 MiB send high-water mark each piece waits for the socket to drain. On 2026-12-03 at 20:21,
  on a slower box, replays ran at ~300-317k events/s (0.32-0.33 s) against etcd's 66k: 4.7x; at 21:39 353k ±45% vs 55k
  (6.4x).
- **upstream-fanout-sat (target >= 10x etcd, 2 watchkv nodes vs the 3-member cluster): MISSED,
  1.29x in the full run of 2026-12-03 17:32 (1.57x on 2026-12-02 at 10:23); the writer to etcd
  sets a ceiling near 2x here.** Delivered =
  the writer's puts/s to etcd x 1,000 watchers, and that writer alone (no watchers anywhere) does
  1.5-1.8k puts/s against the 3 members on this box, so no tier can deliver more than ~1.8M
  events/s, ~2.2x the 0.82M etcd's members delivered themselves. With the tier in front the
  writer kept 1,431 of its 1,672 puts/s (etcd direct: 844), the nodes delivered 1.29M events/s
  and spent 45% of a core for it: 2.85M events per CPU-second against etcd's 0.69M (4.1x; 1.9x
  before the gRPC watch path and catch-up cohorts of 2026-12-02). Earlier, 2026-12-02
  (\`BENCH_ONLY=upstream\`, bench/results/compare-2026-12-02T01-01-26Z.json), with another
  engineer's tests loading the cores: 667k events/s through 2 nodes, 472k (±22%) through 1
  node, 569k watching etcd's members directly; one harness process reading every event was then
  the cap at ~0.6-0.7M events/s. Figures the harness does not cap:
  - **cost per event.** In that earlier run the 2 nodes spent 46% of a core for 667k events/s
    (~1.4M events per CPU-second) and etcd's members 84% for 569k (~0.67M), and etcd's CPU is
    its write path's: the writer did 1,654 puts/s alone and 835 with the watchers on etcd (-50%).
    In the 10:23 run the nodes did 2.85M events per CPU-second, and etcd's members spent 80% of a
    core (writes and feeding 2 streams) instead of 117% (writes and feeding 1,000 watchers).
  - **the model.** A node costs etcd one watch stream: each event is read from etcd once per
    node, whatever the number of watchers W, so etcd's fan-out load is O(N x write rate) instead
    of O(W x write rate). The tier's capacity is C(N) = N x c, with c ~ 2.8M events/s per core a
    node gets (a node is one Node.js main thread, so about one core per node process). Measured
    here: N=1 1.24M and N=2 1.29M events/s, both at the writer's ceiling above, not at c.
    Extrapolated, with the assumptions: each node on its own core (or machine), clients off the
    box, writes to etcd not slowed by the tier (here they kept ~85% of the writer's solo rate),
    events of this size (small values, ~100 B per gRPC event), etcd feeding N streams with room
    to spare (N=10 adds 10 watchers to etcd; 1,000 direct watchers cost it ~40 points of a core
    here). Then 10x etcd's delivered rate here (~8.2M events/s) needs 3 nodes' CPU, and 10 nodes
    give ~28M events/s — but at ~100 B an event, 2.8M events/s is ~2.2 Gbit/s per node, so on
    1 GbE the network caps a node near 1.2M events/s and 10x takes ~7 nodes. etcd's own direct
    fan-out cannot grow that way: every member added also slows its writes (Raft).
- **grpc-put (target >= etcd): MET since the harness frames its gRPC calls itself: 1.13x in the
  full run of 2026-12-03 21:39 (19,790 vs 17,561 puts/s).** Until then the row sat at parity
  inside its noise (0.95x in the full run of 20:21, 9,921 vs 10,474; subset runs 0.93-1.15x),
  and what set it was the harness: its node:http2 client spent ~75-85 us of CPU a call with its
  event loop 75-85% busy (\`performance.eventLoopUtilization\`), more than either server spends
  answering (watchkv ~57 us a put, main thread and LevelDB threads; etcd ~83 us), on the same 2
  cores. bench/lib/grpc-raw-conn.ts now frames the calls on the socket: a cached header block
  and one DATA frame out; frames parsed in place, DATA handed to its stream as it arrives,
  HPACK state kept (etcd's Go server indexes its answers), flow control both ways; ~30 us a
  call. Then the servers set the pace: two subset runs at 21:28 and 21:35 gave 19.6k vs 16.2k
  (1.21x) and 21.4k vs 17.4k (1.23x), and 5 s probes against both (50 calls in flight, server
  CPU from /proc) 16.7-19.5k puts/s for watchkv at ~44 us of server CPU a put against etcd's
  13.8-16.1k at ~80 us. The ±14% of this full run is one repetition at 22.6k and one at 17.0k.
  Through grpc-js's own client, which still sets the pace for both, the two are level (4,629 vs
  4,783). The same client lifted both servers' range rows (1 key 47.8k vs 15.0k, 3.2x; a
  100-key prefix 10.9k vs 5.5k, 2.0x). Group commit used to start its batch one microtask after
  the first write of a turn, so requests parsed from the same socket read a few awaits later
  missed it (a third of the batches held 1-3 transactions); it waits for the end of the turn
  (setImmediate, b322981). Earlier: before watchkv framed cleartext HTTP/2 itself (src/api/h2/,
  2026-12-03) the row was 0.69-1.08x over a dozen runs. Under h2load (a C client, so the
  client costs little and etcd has the most room to spread over both cores), the probe
  \`node --import tsx bench/h2-framing-probe.ts\` (5 x 10 in flight, 60,000 puts of 256 B, each
  server fresh, one after the other) gave watchkv and etcd level at 22:26 (22.4-24.8k vs
  22.9-24.0k), but a fresh Node server spends its first tens of thousands of calls warming its
  JIT: the same servers, kept running and loaded in turn, did 33-37k vs 19-23k puts/s after
  their first run. The probe now gives each server 20,000 unrecorded puts first; at 22:29:
  watchkv 31.7k, 32.5k and 28.8k puts/s, etcd 20.9k, 20.7k and 21.4k (1.35-1.57x), watchkv with
  \`--h2-framing node\` 17.7-20.3k, the bare store behind the probe's hand framing 37.6-41.0k.
  Why the framing mattered: in watchkv's profile Node's HTTP/2 core (stream objects, header
  maps, respond, trailers, nghttp2 callbacks) was ~25% of a put's busy time after grpc-js's
  per-call machinery had already been taken out by the direct path (src/api/grpc/fast-unary.ts,
  +10%); measured apart from the store (h2load -c5 -m10, 100,000 unary calls answering a fixed
  message after a setImmediate), node:http2 spent 30 us of server CPU a call and the same calls
  framed in JavaScript 9.5 us. Tried before and not kept, each measured side by side with etcd:
  the fsync on the main thread instead of LevelDB's write thread (much worse: the blocked loop
  reads nothing during the fsync, so batches shrink), a log of its own opened O_DSYNC in front
  of LevelDB (no better: the disk does not pace the pipeline), sending the next batch before
  publishing the last, and 2-3 batches in flight (LevelDB serialises them).
- **grpc-fanout-sat (target >= 5x etcd): MISSED, 1.94x in the full run of 2026-12-03 21:39
  (6.29M vs 3.25M events/s); the 2 shared cores set a ceiling near 2x.** Each side is now its
  server, the harness's watch client and the writer sharing the box, every one of them near its
  own floor. watchkv delivers everything its writer commits (p50 ~115 ms, the writer at 5.8-7.0k
  puts/s), its server at 84% of a core; etcd is bound by its own CPU (115%), its writer at
  3.2-3.4k. Per delivered event watchkv's server spends ~0.13 us (its puts included) and etcd's
  ~0.36 us, 2.8x less; but the harness's scan of every event for the exactly-once check costs
  ~0.11 us (74% of a core at 6.3M) and the writer ~0.03 us (~30 us a put over 1,000 watchers),
  so watchkv's whole side spends ~0.27 us an event against etcd's ~0.5, and on the same 2 cores
  the delivered rates follow that ratio. 5x would need etcd's side held back by etcd alone
  while watchkv's harness and writer cost nothing: ~16M events/s, about 2 cores of scanning by
  itself. Server profile at 21:39 (\`BENCH_WATCHKV_NODE_ARGS\`, main thread): 30% idle, the
  socket writes 17% (writev 9%, the kernel copying each watcher's bytes, writeBuffer 8%), GC
  9%, LevelDB's batch 4%; no piece of watchkv's own code above 1.1%. Steps that evening, same
  client both sides: the writer put through the JSON gateway, which capped it near 4.7-5.2k
  puts/s whatever the server (3.89M vs 2.01M, 1.93x at 20:21); the watchers read through
  grpc-js, which spent ~97% of a core at 4.85M events/s (joining frames, its own per-message
  stack). Since 87d3a84 both use the hand-framed client (the writer 2 connections x 10 calls in
  flight); that lifted both servers (watchkv 4.8M to 6.3-6.9M, etcd 2.5M to 3.2-3.3M) and left
  the ratio where it was. Before, HTTP/2 output of 64 KB or more a tick became one corked writev
  instead of joined with Buffer.concat (63b7275), when the join was 17% of the server's busy
  time. At HTTP/2's default 64 KiB window the ten client streams capped both servers near 1.3M
  events/s; the harness opens 4 MiB (what grpc-go reaches by BDP estimation). Until 2026-12-02
  watchkv's main thread was ~85% busy at 1.4-1.7M events/s: the sync pass routed each
  catching-up watcher on its own (18%; now cohorts share one list, src/watch/route-history.ts),
  and each response was assembled, then copied again into grpc-js's framing (~20%; now Watch
  streams are answered on the HTTP/2 stream directly with the batch's event bytes encoded once
  per list, src/api/grpc/fast-watch.ts).
- **queue (target > NATS JetStream, every item synced): met once NATS syncs as the issue asks.**
  Debian bookworm's nats-server 2.9.10 has no \`sync_interval\` (2.10 added it), so earlier runs
  compared watchkv's per-batch fsync with a JetStream that syncs every 2 minutes (watchkv 0.59x
  then). scripts/install-nats.sh now takes Debian trixie's 2.10 (bench/.bin/), and the row runs it
  with \`sync_interval: always\`: JetStream then syncs each message write on its own (no group
  commit), ~1.2k items/s here, while watchkv's queue writer puts the transitions of a turn in one
  txn and the store's group commit syncs many txns at once. The queue-nats-async row keeps the
  unsynced comparison in view: there NATS is ahead (~11k vs ~7k items/s) because watchkv is
  CPU-bound: each item is three revisions (enqueue, in flight, the ack's delete), each through
  the txn, the key index, a LevelDB batch and the queue's commit listener (server ~114% of a
  core: main thread plus LevelDB and GC threads). Encoding every commit's events for later
  replays at once cost ~15-20% of this row (the encoding and the GC of the strings the history
  keeps); it now waits for quiet intervals (src/api/idle-encoder.ts): 60,000 items went from
  ~7.3k to ~9.3k items/s. The default 20,000 items is a 2-3 s run whose repetitions spread
  widely (GC pauses); 100,000 items gives steadier figures.
- **idle watchers (target <= 2 KB each).** Each watcher is a small object in a map and, for
  ranges, an interval-tree node; what remains is V8 heap overhead.
`;
