/**
 * Commit messages: a summary line of at most 72 characters, a blank line, then a body
 * (scripts/git-hooks/commit-message.mjs). The commit-msg hook refuses a message that breaks it,
 * and every commit since the rule was set follows it. Earlier commits are history: main is
 * never rewritten, so they stay as they are.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error -- a plain .mjs script without types (it runs as the git hook, before any build)
import { commitMessageProblems } from "../../scripts/git-hooks/commit-message.mjs";

const root = path.resolve(import.meta.dirname, "../..");
/** The last commit written before the rule: everything after it must follow the rule. */
const RULE_SINCE = "31f0a9f";

const problems = commitMessageProblems as (message: string) => string[];
const body = "\n\nWhy it changed, and how it was checked.\n";

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.test",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.test",
    },
  });
}

describe("the commit message rule", () => {
  it("when the message has a short summary, a blank line and a body, then it passes", () => {
    expect(problems(`Put workers in workers/${body}`)).toEqual([]);
  });

  it("when the summary is longer than 72 characters, then it names the length", () => {
    expect(problems(`${"x".repeat(73)}${body}`)).toEqual(["the summary line has 73 characters; at most 72"]);
  });

  it("when the message is one line, however long, then there is no body", () => {
    expect(problems("Fix everything")).toEqual([
      "there is no body: after the summary, a blank line, then why and how it was checked",
    ]);
    expect(problems("a ".repeat(650))).toHaveLength(2);
  });

  it("when the second line is not blank, then it says so", () => {
    expect(problems("Summary\nbody right away\nmore")).toEqual([
      "the second line is not blank: the summary is one line, then a blank line, then the body",
    ]);
  });

  it("when a body line is an unwrapped paragraph, then it asks to wrap; a long URL may stay", () => {
    expect(problems(`Summary\n\n${"word ".repeat(30)}`)).toEqual([
      "body line 3 has 150 characters; wrap at about 72 (at most 100)",
    ]);
    expect(problems(`Summary\n\nSee https://example.test/${"a".repeat(120)} for details.\n`)).toEqual([]);
  });

  it("when git's comment lines and trailing blank lines are present, then they are ignored", () => {
    expect(problems(`Summary${body}\n# Please enter the commit message\n#\n\n`)).toEqual([]);
  });

  it("when git writes a merge or revert summary, then it passes as git wrote it", () => {
    expect(problems("Merge branch 'teams'")).toEqual([]);
  });
});

describe("the commit-msg hook", () => {
  let repo: string;
  beforeAll(async () => {
    repo = await mkdtemp(path.join(tmpdir(), "taskmesh-hook-"));
    git(repo, "init", "-q");
    git(repo, "config", "core.hooksPath", path.join(root, "scripts/git-hooks"));
    await writeFile(path.join(repo, "a.txt"), "a\n");
    git(repo, "add", "a.txt");
  });
  afterAll(async () => {
    await rm(repo, { recursive: true, force: true });
  });

  it("when a commit has a one-line message of 1,300 characters, then git refuses it and nothing is committed", () => {
    expect(() => git(repo, "commit", "-q", "-m", "x".repeat(1300))).toThrow(
      /summary line has 1300 characters/,
    );
    expect(() => git(repo, "rev-parse", "HEAD")).toThrow();
  });

  it("when a commit follows the rule, then git takes it", () => {
    git(repo, "commit", "-q", "-m", "Add a", "-m", "Because the test needs a commit.");
    expect(git(repo, "log", "-1", "--format=%s").trim()).toBe("Add a");
  });

  it("npm's prepare step points git at the hooks", () => {
    const hooks = execFileSync("node", [path.join(root, "scripts/git-hooks/install.mjs")], {
      cwd: root,
      encoding: "utf8",
    });
    expect(hooks).toBe("");
    expect(git(root, "config", "--get", "core.hooksPath").trim()).toMatch(/scripts\/git-hooks$/);
  });
});

describe("the history", () => {
  it("every commit since the rule was set follows it", () => {
    let range = `${RULE_SINCE}..HEAD`;
    try {
      git(root, "cat-file", "-e", `${RULE_SINCE}^{commit}`);
    } catch {
      // A shallow clone without the base: check what it has.
      range = "HEAD";
    }
    const hashes = git(root, "rev-list", "--no-merges", range).split("\n").filter(Boolean);
    const broken = hashes
      .map((hash) => ({
        hash: hash.slice(0, 12),
        problems: problems(git(root, "log", "-1", "--format=%B", hash)),
      }))
      .filter((c) => c.problems.length > 0);
    expect(broken).toEqual([]);
  });
});
