import { spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { REPO_ROOT } from "./paths.ts";

export type ProgressLog = (message: string) => void;

/**
 * Runs one of the provisioning scripts (scripts/daprd/build.sh, scripts/k8s/kustomize.sh,
 * scripts/k8s/schemas.sh): their progress lines (stderr) go to `log`, the last stdout line is
 * the answer (a path). Each is instant when its cache is warm and locks
 * against concurrent runs.
 */
export function runProvisioningScript(script: string, args: string[], log: ProgressLog): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [path.join(REPO_ROOT, script), ...args], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: string[] = [];
    const err: string[] = [];
    readline.createInterface({ input: child.stdout }).on("line", (l) => out.push(l));
    readline.createInterface({ input: child.stderr }).on("line", (l) => {
      err.push(l);
      log(l);
    });
    child.once("error", reject);
    child.once("close", (code) => {
      const answer = out.at(-1)?.trim();
      if (code === 0 && answer) resolve(answer);
      else
        reject(new Error(`${script} ${args.join(" ")} failed (exit ${code}):\n${err.slice(-30).join("\n")}`));
    });
  });
}

/** Path of the pinned daprd (built and cached on first use). */
export function ensureDaprd(log: ProgressLog = () => undefined): Promise<string> {
  return runProvisioningScript("scripts/daprd/build.sh", ["daprd"], log);
}

/** Path of Dapr Sentry from the same pinned module (built and cached on first use). */
export function ensureSentry(log: ProgressLog = () => undefined): Promise<string> {
  return runProvisioningScript("scripts/daprd/build.sh", ["sentry"], log);
}

export { ensureKafka } from "./kafka-install.ts";
