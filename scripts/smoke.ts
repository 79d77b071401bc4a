/**
 * `npm run smoke -- https://tasks.example.com`: a post-deploy smoke test of a running taskmesh,
 * as a client sees it through the Ingress. Signs up a throwaway user (or uses yours), then
 * walks a task through the REST API, the live stream (notifications), the task's history
 * (audit-log, through the event pipeline) and the MCP server (with a personal access token
 * created through the API), and deletes everything it created, also after a failure. Every
 * step prints its result and time; the first failing step is named and the exit code is 1
 * (2 for a usage error). Responses are parsed with zod.
 *
 *   npm run smoke -- https://tasks.example.com
 *   npm run smoke -- --url https://tasks.example.com --mcp-url https://mcp.example.com/mcp
 *   TASKMESH_URL=http://localhost:3000 npm run smoke -- --stream-url http://localhost:3002/v1/stream
 *
 * Options (or environment):
 *   --url URL            task-api's public URL, its PUBLIC_URL (TASKMESH_URL)
 *   --mcp-url URL        the MCP endpoint, mcp-server's MCP_RESOURCE_URL (TASKMESH_MCP_URL; default <url>/mcp)
 *   --stream-url URL     the live stream (TASKMESH_STREAM_URL; default <url>/v1/stream)
 *   --token TOKEN        a session token of an existing user instead of signing one up
 *                        (TASKMESH_SMOKE_TOKEN); the account is then kept
 *   --email, --password  sign in an existing user instead (TASKMESH_SMOKE_EMAIL, TASKMESH_SMOKE_PASSWORD)
 *   --origin ORIGIN      Origin sent to /api/auth (default: the URL's origin; must be PUBLIC_URL or in CORS_ORIGINS)
 *   --timeout SECONDS    how long to wait for the history and the stream (default 60)
 *   --request-timeout SECONDS  per HTTP request (default 15)
 *   --skip LIST          comma-separated: stream, history, mcp (for a deployment without them)
 */
import { pathToFileURL } from "node:url";
import { parseOptions, USAGE, UsageError, type SmokeOptions } from "./smoke/options.ts";
import { runSmoke } from "./smoke/run.ts";

// test/k8s/deploy-docs.test.ts checks these against the Ingress.
export { defaultUrls } from "./smoke/options.ts";

async function main(): Promise<void> {
  let options: SmokeOptions;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError && message === "") {
      console.log(USAGE);
      return;
    }
    console.error(`${message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const { failedStep } = await runSmoke(options, {
    line: (text) => {
      console.log(text);
    },
  });
  process.exitCode = failedStep === undefined ? 0 : 1;
}

// Run as a script (npm run smoke), not when a test imports defaultUrls.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
