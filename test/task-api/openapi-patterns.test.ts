import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { DOCUMENT } from "../support/task-api-openapi.ts";

/** Every `pattern` in the document, with where it is. */
function patternsIn(value: unknown, at = "#"): { at: string; pattern: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => patternsIn(v, `${at}/${String(i)}`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, child]) =>
    key === "pattern" && typeof child === "string"
      ? [{ at, pattern: child }]
      : patternsIn(child, `${at}/${key}`),
  );
}

const python = (() => {
  try {
    execFileSync("python3", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** Strings to try every pattern on: commas, C0 and C1 controls, emoji, non-BMP, dates, ids. */
const SAMPLES = [
  "",
  "a",
  "tag",
  "Docs",
  "a b",
  "a,b",
  ",",
  " ",
  "\u0000",
  "a\u0001b",
  "a\tb",
  "\u001f",
  "\u007f",
  "a\u0080",
  "\u009f",
  "\u00a0",
  "é",
  "日本",
  "😀",
  "a😀b",
  "𝄞",
  "\ud83d",
  "\ude00x",
  "\u2028",
  "\ufeff",
  "\ufffd",
  "2026-12-01",
  "2026-02-29",
  "2024-02-29",
  "2026-13-01",
  "2026-12-01T09:00:00Z",
  "2026-12-01T09:00:00.5Z",
  "2026-12-01T09:00:00+01:00",
  "2026-12-01T24:00:00Z",
  "01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5f",
  "00000000-0000-0000-0000-000000000000",
  "01936f4e-8a3b-0c2d-9e1f-0a1b2c3d4e5f",
  "a@example.com",
  "a.b@example.co",
  "@example.com",
  "a\n",
  "\na",
];

describe("patterns", () => {
  const patterns = patternsIn(DOCUMENT);

  it("when the document is read, then it has patterns (the checks below check something)", () => {
    expect(patterns.length).toBeGreaterThan(0);
  });

  it("when any pattern is compiled without the u flag, then it compiles and means what it means with u", () => {
    for (const { at, pattern } of patterns) {
      // Unicode property and code point escapes and named groups: not in Python's re, nor without u.
      expect(pattern, at).not.toMatch(/\\[pP]\{|\\u\{|\(\?<[A-Za-z]/);
      const plain = new RegExp(pattern);
      const unicode = new RegExp(pattern, "u");
      for (const sample of SAMPLES) {
        expect(plain.test(sample), `${at} ${pattern} on ${JSON.stringify(sample)}`).toBe(
          unicode.test(sample),
        );
      }
    }
  });

  it.skipIf(!python)(
    "when any pattern is compiled by Python's re, then it compiles and agrees with ECMA-262",
    () => {
      // Python's $ also matches before a final newline; generators built on re allow for it.
      const samples = SAMPLES.filter((s) => !s.endsWith("\n"));
      const script = [
        "import json, re, sys",
        "patterns, samples = json.load(sys.stdin)",
        "print(json.dumps([[re.search(p, s) is not None for s in samples] for p in patterns]))",
      ].join("\n");
      const answers = JSON.parse(
        execFileSync("python3", ["-c", script], {
          input: JSON.stringify([patterns.map((p) => p.pattern), samples]),
          encoding: "utf8",
        }),
      ) as boolean[][];
      patterns.forEach(({ at, pattern }, i) => {
        const ecma = samples.map((s) => new RegExp(pattern, "u").test(s));
        expect(answers[i], `${at} ${pattern}`).toEqual(ecma);
      });
    },
  );

  it("when the tag name pattern is read, then it accepts what the server accepts: no commas, no controls (Cc), not blank", () => {
    const tag = DOCUMENT.components?.schemas?.CreateTask as {
      properties: { tags: { items: { pattern: string } } };
    };
    // With and without u: a generator may use either.
    const patterns = [
      new RegExp(tag.properties.tags.items.pattern),
      new RegExp(tag.properties.tags.items.pattern, "u"),
    ];
    // The rule before the pattern was written out (\p{Cc}), on the name as the server sees it: trimmed.
    const server = (name: string) => /^[^,\p{Cc}]+$/u.test(name.trim());
    const chars = [
      ...Array.from({ length: 0x10000 }, (_, c) => String.fromCharCode(c)),
      "😀",
      "𝄞",
      "\u{10ffff}",
      "\u{e0001}",
    ];
    for (const c of chars) {
      for (const sample of [c, `a${c}`, `${c}b`, `a${c}b`, ` ${c} `, `${c}${c}`]) {
        const trimmed = sample.trim();
        for (const pattern of patterns) {
          // Whatever the pattern lets a generator make, the server accepts.
          if (pattern.test(sample)) expect(server(sample), JSON.stringify(sample)).toBe(true);
          // And on a trimmed name (what the server tests) it is the rule before.
          expect(pattern.test(trimmed), JSON.stringify(trimmed)).toBe(server(trimmed) && trimmed !== "");
        }
      }
    }
  });
});
