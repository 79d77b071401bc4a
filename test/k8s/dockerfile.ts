/**
 * Just enough of Dockerfile and .dockerignore semantics to check the repository's images without
 * a Docker engine (test/k8s/images.test.ts): instructions with line continuations, stages and
 * the stage each one builds on, exec-form arguments, ENV pairs, and Docker's ignore-file matching
 * (moby/patternmatcher: last matching pattern wins, a match on a parent folder counts).
 */

export interface Instruction {
  /** Upper-cased: FROM, RUN, COPY, ... */
  keyword: string;
  /** Everything after the keyword, continuation lines joined with a space. */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
}

export interface Stage {
  /** The `AS` name, if any. */
  name: string | undefined;
  /** The image or stage it starts from. */
  from: string;
  /** FROM's own instruction and everything up to the next FROM. */
  instructions: Instruction[];
}

export interface Dockerfile {
  stages: Stage[];
  stage(name: string): Stage | undefined;
  /** The stages a stage builds on (itself last), following `FROM <stage>`. */
  chain(name: string): Stage[];
  /** Every instruction of the chain, in the order the image gets them. */
  effective(name: string): Instruction[];
  /** FROM references that are images, not earlier stages. */
  baseImages(): string[];
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending: { keyword: string; parts: string[]; line: number } | undefined;
  text.split("\n").forEach((raw, index) => {
    const line = raw.trimEnd();
    // Comment lines (and parser directives) are dropped, also in the middle of a continuation.
    if (/^\s*#/.test(line)) return;
    if (!pending) {
      if (line.trim() === "") return;
      const match = /^\s*(\w+)\s*(.*)$/.exec(line);
      if (!match?.[1]) throw new Error(`line ${index + 1}: cannot parse "${line}"`);
      pending = { keyword: match[1].toUpperCase(), parts: [], line: index + 1 };
      const rest = match[2] ?? "";
      if (rest.endsWith("\\")) {
        pending.parts.push(rest.slice(0, -1).trim());
        return;
      }
      pending.parts.push(rest.trim());
    } else {
      if (line.trim() === "") return;
      if (line.endsWith("\\")) {
        pending.parts.push(line.slice(0, -1).trim());
        return;
      }
      pending.parts.push(line.trim());
    }
    instructions.push({
      keyword: pending.keyword,
      args: pending.parts.filter((p) => p !== "").join(" "),
      line: pending.line,
    });
    pending = undefined;
  });
  if (pending) throw new Error(`line ${pending.line}: the file ends inside a continued instruction`);

  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith("--"));
      const [from, as, name] = words;
      if (!from) throw new Error(`line ${instruction.line}: FROM without an image`);
      if (as !== undefined && (as.toUpperCase() !== "AS" || !name))
        throw new Error(`line ${instruction.line}: expected "FROM <image> AS <name>"`);
      stages.push({ name, from, instructions: [instruction] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== "ARG")
        throw new Error(`line ${instruction.line}: ${instruction.keyword} before the first FROM`);
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }

  const stage = (name: string): Stage | undefined => stages.find((s) => s.name === name);
  const chain = (name: string): Stage[] => {
    const result: Stage[] = [];
    let current = stage(name);
    while (current) {
      if (result.includes(current)) throw new Error(`stage ${name} builds on itself`);
      result.unshift(current);
      current = stage(current.from);
    }
    if (result.length === 0) throw new Error(`no stage named ${name}`);
    return result;
  };
  return {
    stages,
    stage,
    chain,
    effective: (name) => chain(name).flatMap((s) => s.instructions),
    baseImages: () => stages.filter((s) => !stage(s.from)).map((s) => s.from),
  };
}

/** CMD/ENTRYPOINT/RUN arguments in exec form (a JSON array of strings), or undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trimStart().startsWith("[")) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string"))
    throw new Error(`not an array of strings: ${args}`);
  return parsed;
}

/** Words of a shell-like string, honouring double and single quotes (enough for ENV and COPY). */
export function words(text: string): string[] {
  const result: string[] = [];
  let current = "";
  let quote: string | undefined;
  let inWord = false;
  for (const char of text) {
    if (quote) {
      if (char === quote) quote = undefined;
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) result.push(current);
      current = "";
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unclosed quote in: ${text}`);
  if (inWord) result.push(current);
  return result;
}

/** The environment an image ends up with: ENV instructions of the chain, later ones winning. */
export function environment(instructions: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { keyword, args } of instructions) {
    if (keyword !== "ENV") continue;
    const pairs = words(args);
    if (pairs.every((pair) => pair.includes("="))) {
      for (const pair of pairs) {
        const at = pair.indexOf("=");
        env[pair.slice(0, at)] = pair.slice(at + 1);
      }
    } else {
      // Legacy `ENV KEY value with spaces`.
      const [key, ...value] = pairs;
      if (key) env[key] = value.join(" ");
    }
  }
  return env;
}

/** The value of the last instruction with this keyword, if any. */
export function last(instructions: Instruction[], keyword: string): Instruction | undefined {
  return instructions.filter((i) => i.keyword === keyword).at(-1);
}

export interface Copy {
  /** The stage named by --from, undefined for the build context. */
  from: string | undefined;
  sources: string[];
  destination: string;
}

export function copies(instructions: Instruction[]): Copy[] {
  return instructions
    .filter((i) => i.keyword === "COPY")
    .map(({ args, line }) => {
      const parts = words(args);
      const flags = parts.filter((p) => p.startsWith("--"));
      const paths = parts.filter((p) => !p.startsWith("--"));
      const destination = paths.pop();
      if (!destination || paths.length === 0)
        throw new Error(`line ${line}: COPY needs a source and a destination`);
      const from = flags.find((f) => f.startsWith("--from="))?.slice("--from=".length);
      return { from, sources: paths, destination };
    });
}

/** Docker's ignore-file matching (the build context a `docker build .` sends). */
export function dockerignore(text: string): (path: string) => boolean {
  const patterns = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const negated = line.startsWith("!");
      const cleaned = clean(negated ? line.slice(1).trim() : line);
      return { negated, regex: patternRegex(cleaned) };
    });
  return (path: string) => {
    const target = clean(path);
    const parents = target.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"));
    let excluded = false;
    for (const { negated, regex } of patterns) {
      if (parents.some((candidate) => regex.test(candidate))) excluded = !negated;
    }
    return excluded;
  };
}

function clean(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/");
}

function patternRegex(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern.charAt(i);
    if (char === "*" && pattern[i + 1] === "*") {
      i++;
      if (pattern[i + 1] === "/") {
        i++;
        source += "(?:.*/)?";
      } else {
        source += ".*";
      }
    } else if (char === "*") {
      source += "[^/]*";
    } else if (char === "?") {
      source += "[^/]";
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${source}$`);
}
