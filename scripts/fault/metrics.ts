/**
 * Scrapes the apps' Prometheus counters during a fault run. A killed app starts again at
 * zero, so each counter is kept as the sum over the lives of its process: when a scrape
 * reads less than the last one, the last one is banked. What a process counted between its
 * last scrape and its death is not seen (the figures are lower bounds).
 */

/** Series ("name{labels}") and their values, from Prometheus text exposition. */
export function parsePrometheus(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match?.[1] || match[3] === undefined) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    sums.set(`${match[1]}${match[2] ?? ""}`, value);
  }
  return sums;
}

/**
 * Counters the fault report reads: duplicates suppressed by consumers (audit-log's counter,
 * recurring-tasks' outcomes), what audit-log recorded, and the relay's work.
 */
export const INTERESTING_COUNTER =
  /duplicate|suppress|recorded_total|recurring_tasks_events_total|outbox_events_published_total|outbox_publish_failures_total/;

/** A series that counts redeliveries or repeats a consumer recognised and did not apply again. */
export function isSuppressedDuplicate(series: string): boolean {
  return /duplicate|suppress/.test(series) || /outcome="(already-handled|existing|duplicate)"/.test(series);
}

export class CounterScraper {
  private readonly banked = new Map<string, number>();
  private readonly last = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly urls: Readonly<Record<string, string>>;

  constructor(urls: Readonly<Record<string, string>>) {
    this.urls = urls;
  }

  start(intervalMs = 1000): void {
    const loop = (): void => {
      void this.scrape().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(loop, intervalMs);
      });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.scrape();
  }

  async scrape(): Promise<void> {
    await Promise.all(
      Object.entries(this.urls).map(async ([app, url]) => {
        let text: string;
        try {
          const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) });
          if (!res.ok) return;
          text = await res.text();
        } catch {
          return; // down right now (a fault): the next scrape catches up
        }
        for (const [name, value] of parsePrometheus(text)) {
          if (!INTERESTING_COUNTER.test(name) || /_created(\{|$)/.test(name)) continue;
          const key = `${app} ${name}`;
          const previous = this.last.get(key) ?? 0;
          if (value < previous) this.banked.set(key, (this.banked.get(key) ?? 0) + previous);
          this.last.set(key, value);
        }
      }),
    );
  }

  /** "<app> <series>" -> total over the process's lives. */
  totals(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, value] of this.last) out.set(key, value + (this.banked.get(key) ?? 0));
    return out;
  }
}
