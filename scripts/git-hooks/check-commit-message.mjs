#!/usr/bin/env node
// Checks a commit message file (the commit-msg hook) or, with --range A..B, every commit in a range.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { commitMessageProblems } from "./commit-message.mjs";

const args = process.argv.slice(2);
let failed = false;
const report = (what, problems) => {
  if (problems.length === 0) return;
  failed = true;
  process.stderr.write(`${what}:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
};
if (args[0] === "--range") {
  const hashes = execFileSync("git", ["rev-list", "--no-merges", args[1]], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  for (const hash of hashes) {
    const message = execFileSync("git", ["log", "-1", "--format=%B", hash], { encoding: "utf8" });
    report(
      `commit ${hash.slice(0, 12)} "${message.split("\n")[0].slice(0, 60)}"`,
      commitMessageProblems(message),
    );
  }
} else if (args[0]) {
  report("commit message", commitMessageProblems(readFileSync(args[0], "utf8")));
  if (failed)
    process.stderr.write(
      "(shared/STYLE.md, Words: a summary of at most 72 characters, a blank line, a body)\n",
    );
} else {
  process.stderr.write("usage: check-commit-message.mjs <message-file> | --range <rev-range>\n");
  process.exit(2);
}
process.exit(failed ? 1 : 0);
