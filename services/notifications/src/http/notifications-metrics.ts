import { Counter, Gauge, type Registry } from "prom-client";
import type { LiveStream } from "./live-stream.ts";

/** notifications' own series next to the HTTP ones: open streams and reminders fired. */
export function notificationMetrics(registry: Registry, liveStream: LiveStream | undefined) {
  if (liveStream) {
    new Gauge({
      name: "notifications_stream_connections",
      help: "Open server-sent event streams in this process.",
      registers: [registry],
      collect() {
        this.set(liveStream.size);
      },
    });
  }
  const remindersFired = new Counter({
    name: "notifications_reminders_fired_total",
    help: "reminder.due events published by this process's cron ticks.",
    registers: [registry],
  });
  return { remindersFired };
}
