/**
 * The smoke run: the steps of scripts/smoke/steps.ts in order, each printed with its result and
 * time, then the clean-up of what the run created (also after a failure).
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Task } from "@taskmesh/contracts";
import { bearer, createRequest, StepError } from "./http.ts";
import type { SmokeOptions } from "./options.ts";
import * as steps from "./steps.ts";
import type { LiveStreamReader } from "./stream.ts";

export interface Output {
  line(text: string): void;
}

export interface StepRecord {
  name: string;
  ok: boolean | "skipped";
  ms: number;
  detail: string;
}

const WIDTH = 22;

/** Records and prints the steps; the first one that fails is the run's failed step. */
function createRecorder(out: Output) {
  const state = { records: [] as StepRecord[], failedStep: undefined as string | undefined };
  /** Runs one step; a failure is recorded and rethrown. */
  const step = async <T>(name: string, run: () => Promise<{ value: T; detail: string }>): Promise<T> => {
    const t0 = performance.now();
    try {
      const { value, detail } = await run();
      const ms = Math.round(performance.now() - t0);
      state.records.push({ name, ok: true, ms, detail });
      out.line(`  ok    ${name.padEnd(WIDTH)} ${String(ms).padStart(6)} ms  ${detail}`);
      return value;
    } catch (error) {
      const ms = Math.round(performance.now() - t0);
      const detail = error instanceof Error ? error.message : String(error);
      state.records.push({ name, ok: false, ms, detail });
      out.line(`  FAIL  ${name.padEnd(WIDTH)} ${String(ms).padStart(6)} ms  ${detail}`);
      state.failedStep ??= name;
      throw error;
    }
  };
  const skipped = (name: string, why: string): void => {
    state.records.push({ name, ok: "skipped", ms: 0, detail: why });
    out.line(`  skip  ${name.padEnd(WIDTH)} ${"".padStart(9)}  ${why}`);
  };
  return { state, step, skipped };
}

/** What the run created, for the clean-up. */
interface Created {
  session?: steps.Session;
  task?: Task;
  patId?: string;
  stream?: LiveStreamReader;
  mcp?: Client;
}

/**
 * Runs the smoke test against a deployment and prints each step to `out`. Resolves with the
 * steps and the name of the first one that failed (undefined when all passed).
 */
export async function runSmoke(
  options: SmokeOptions,
  out: Output,
): Promise<{ steps: StepRecord[]; failedStep: string | undefined }> {
  const started = performance.now();
  const ctx: steps.SmokeContext = { options, request: createRequest(options.url, options.requestTimeoutMs) };
  const recorder = createRecorder(out);
  const created: Created = {};

  out.line(`taskmesh smoke test of ${options.url.href}`);
  out.line(`  mcp ${options.mcpUrl.href}   stream ${options.streamUrl.href}`);
  try {
    await walkThrough(ctx, recorder, created);
  } catch (error) {
    // The failed step has printed itself; anything else is a bug of this script: say so.
    if (!(error instanceof StepError) && recorder.state.failedStep === undefined) {
      recorder.state.failedStep = "smoke script";
      out.line(`  FAIL  ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }
  await cleanUp(ctx, recorder, created);

  const total = ((performance.now() - started) / 1000).toFixed(1);
  const { records, failedStep } = recorder.state;
  if (failedStep === undefined)
    out.line(`smoke test passed: ${records.filter((s) => s.ok === true).length} steps in ${total} s`);
  else out.line(`smoke test FAILED at step "${failedStep}" (${total} s)`);
  return { steps: records, failedStep };
}

/** Every step of the run in order; what it creates goes into `created` as soon as it exists. */
async function walkThrough(
  ctx: steps.SmokeContext,
  { step, skipped }: ReturnType<typeof createRecorder>,
  created: Created,
): Promise<void> {
  const { skip } = ctx.options;
  await step("health", () => steps.health(ctx));
  await step("oauth", () => steps.oauth(ctx));
  if (!skip.has("mcp")) await step("mcp metadata", () => steps.mcpMetadata(ctx));

  const session = await step("sign in", () => steps.signIn(ctx));
  created.session = session;
  const auth = bearer(await step("access token", () => steps.accessToken(ctx, session.token)));

  if (skip.has("stream")) skipped("open stream", "--skip stream");
  else created.stream = await step("open stream", () => steps.openStream(ctx, auth));

  const task = await step("create task", () => steps.createTask(ctx, auth));
  created.task = task;
  const read = await step("read task", () => steps.readTask(ctx, auth, task));
  await step("list tasks", () => steps.listTasks(ctx, auth, task));
  const updated = await step("update task", () => steps.updateTask(ctx, auth, read));
  await step("complete task", () => steps.completeTask(ctx, auth, updated));

  const { stream } = created;
  if (stream) await step("live stream", () => steps.liveStream(ctx, stream, task.id));
  if (skip.has("history")) skipped("history", "--skip history");
  else await step("history", () => steps.history(ctx, auth, task.id));

  if (skip.has("mcp")) {
    skipped("mcp", "--skip mcp");
    return;
  }
  const pat = await step("personal access token", () => steps.personalAccessToken(ctx, session.token));
  created.patId = pat.id;
  const client = await step("mcp initialize", () => steps.mcpInitialize(ctx, pat.token));
  created.mcp = client;
  await step("mcp tools/list", () => steps.mcpListTools(ctx, client));
  await step("mcp get_task", () => steps.mcpGetTask(ctx, client, task.id));
}

/** Deletes what the run created, also after a failure; a failing clean-up fails the run. */
async function cleanUp(
  ctx: steps.SmokeContext,
  { step }: ReturnType<typeof createRecorder>,
  created: Created,
): Promise<void> {
  created.stream?.close();
  await created.mcp?.close().catch(() => undefined);
  const { session, task, patId } = created;
  if (!session) return;
  const cleanup = async (name: string, run: () => Promise<{ value: undefined; detail: string }>) => {
    await step(name, run).catch(() => undefined);
  };
  if (patId) await cleanup("revoke token", () => steps.revokeToken(ctx, session.token, patId));
  if (task) await cleanup("delete task", () => steps.deleteTask(ctx, session.token, task.id));
  if (session.created) await cleanup("delete account", () => steps.deleteAccount(ctx, session.token));
}
