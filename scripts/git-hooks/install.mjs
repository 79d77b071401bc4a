// npm's "prepare" step: points git at scripts/git-hooks, so commit-msg checks every message.
// Does nothing outside a git work tree (an image build, a tarball) or when hooks are set already.
import { execFileSync } from "node:child_process";

const git = (...args) =>
  execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
try {
  if (git("rev-parse", "--is-inside-work-tree") === "true") {
    let current = "";
    try {
      current = git("config", "--get", "core.hooksPath");
    } catch {
      // unset
    }
    if (current === "") git("config", "core.hooksPath", "scripts/git-hooks");
  }
} catch {
  // no git, or not a checkout: nothing to install
}
