/**
 * Writes docs/asyncapi.json from @taskmesh/contracts (the zod schemas producers and
 * consumers parse with). test/contracts/asyncapi.test.ts fails when the committed file differs
 * from what this generates, so run `npm run asyncapi` after changing a contract.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildAsyncApiDocument } from "@taskmesh/contracts";
import { format, resolveConfig } from "prettier";

const root = path.resolve(import.meta.dirname, "..");
const target = path.join(root, "docs", "asyncapi.json");

const document = buildAsyncApiDocument();
const options = (await resolveConfig(target)) ?? {};
const text = await format(JSON.stringify(document), { ...options, filepath: target });
await mkdir(path.dirname(target), { recursive: true });
await writeFile(target, text);
console.log(`wrote ${path.relative(root, target)}`);
