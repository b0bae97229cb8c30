/** The queue routes' JSON answers (snake_case, as the rest of the REST API). */
import type { Delivery, QueueSettings, QueueStats } from '../../queue/queue-api.ts';
import { settingsJson } from '../../queue/queue-settings.ts';

/** One delivery; the value is spliced in as the JSON text it was enqueued with. */
export function deliveryJson(d: Delivery): string {
  return `{"id":"${d.id}","attempt":${d.attempt},"enqueued_revision":${d.enqueuedRevision},"deadline_ms":${d.deadlineMs},"value":${d.valueJson}}`;
}

export function statsJson(s: QueueStats, settings?: QueueSettings): Record<string, unknown> {
  return {
    name: s.name,
    ready: s.ready,
    delayed: s.delayed,
    in_flight: s.inFlight,
    dead: s.dead,
    oldest_ready_age_ms: s.oldestReadyAgeMs,
    consumers: s.consumers,
    ...(settings ? { settings: settingsJson(settings) } : {}),
  };
}
