/** The live stream (server-sent events) as the smoke test reads it. */
import { describeAnswer, describeNetworkError, sleep, snippet, StepError } from "./http.ts";
import { streamEventSchema, type StreamEvent } from "./schemas.ts";

/** The live stream (server-sent events), read in the background into `events`. */
export class LiveStreamReader {
  readonly events: StreamEvent[] = [];
  error: string | undefined;
  private ended = false;

  private constructor(private readonly abort: AbortController) {}

  /** Opens the stream and resolves once the server's first comment (": connected") has arrived through every proxy. */
  static async open(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<LiveStreamReader> {
    const abort = new AbortController();
    const timer = setTimeout(() => {
      abort.abort(new Error("no answer in time"));
    }, timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { ...headers, accept: "text/event-stream" },
        signal: abort.signal,
      });
    } catch (error) {
      clearTimeout(timer);
      throw new StepError(`GET ${url.href}: ${describeNetworkError(error)}`);
    }
    if (response.status !== 200 || !response.body) {
      clearTimeout(timer);
      const text = await response.text().catch(() => "");
      abort.abort();
      throw new StepError(
        `GET ${url.href}: expected HTTP 200, got ${describeAnswer({ status: response.status, headers: response.headers, text })}`,
      );
    }
    const type = response.headers.get("content-type") ?? "";
    if (!type.startsWith("text/event-stream")) {
      clearTimeout(timer);
      abort.abort();
      throw new StepError(`GET ${url.href}: content-type is '${type}', not text/event-stream`);
    }
    const reader = new LiveStreamReader(abort);
    const connected = Promise.withResolvers<undefined>();
    void reader.read(response.body, () => {
      connected.resolve(undefined);
    });
    const ended = (async () => {
      while (!reader.ended) await sleep(50);
      throw new StepError(
        `the stream ended before it said it was connected${reader.error ? `: ${reader.error}` : ""}`,
      );
    })();
    try {
      await Promise.race([connected.promise, ended]);
    } catch (error) {
      abort.abort();
      throw abort.signal.reason instanceof Error && abort.signal.reason.message === "no answer in time"
        ? new StepError(
            `no ': connected' line from ${url.href} within ${timeoutMs / 1000} s: a proxy is buffering the stream (the Ingress needs proxy-buffering off)`,
          )
        : error;
    } finally {
      clearTimeout(timer);
    }
    return reader;
  }

  private async read(body: ReadableStream<Uint8Array>, onComment: () => void): Promise<void> {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let end: number;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) onComment();
            else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
          }
          if (data.length === 0) continue;
          const parsed = streamEventSchema.safeParse(JSON.parse(data.join("\n")));
          if (parsed.success) this.events.push(parsed.data);
          else this.error = `an event that is not a task CloudEvent: ${snippet(data.join(""))}`;
        }
      }
    } catch (error) {
      if (!this.abort.signal.aborted) this.error = describeNetworkError(error);
    }
    this.ended = true;
  }

  /** Waits until `check(events)` holds or the stream ends or `timeoutMs` passes; true if it held. */
  async waitFor(check: (events: StreamEvent[]) => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (check(this.events)) return true;
      if (this.ended || Date.now() >= deadline) return false;
      await sleep(100);
    }
  }

  close(): void {
    this.abort.abort();
  }
}
