/**
 * Memory and CPU of the benchmark's processes, read from /proc (Linux): VmRSS sampled in the
 * background (peak and a steady median per window), VmHWM for the kernel's own peak, and CPU
 * time (utime + stime) for CPU per event.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

const CLOCK_TICKS_PER_SECOND = 100;

function status(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
}

function kibField(text: string | undefined, field: string): number {
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text ?? "")?.[1] ?? 0);
}

/** Resident memory now and the kernel's high-water mark, in MiB (0 when the process is gone). */
export function memoryMiB(pid: number): { rss: number; hwm: number } {
  const text = status(pid);
  return { rss: kibField(text, "VmRSS") / 1024, hwm: kibField(text, "VmHWM") / 1024 };
}

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/**
 * Sets the scheduling priority (nice, -20..19) of the autogroup (session) a process runs in.
 * With autogroup scheduling, plain `nice` only ranks processes within their own session, and
 * the stack starts each process in a session of its own. False when the kernel refuses.
 */
export function setAutogroupNice(pid: number, nice: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
    return true;
  } catch {
    return false;
  }
}

/** Busy and total CPU time of the whole machine so far, in seconds (from /proc/stat). */
export function machineCpuSeconds(): { busy: number; total: number } {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
    return {
      busy: busy / CLOCK_TICKS_PER_SECOND,
      total: (busy + (idle ?? 0) + (iowait ?? 0)) / CLOCK_TICKS_PER_SECOND,
    };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** A process and its direct children (PostgreSQL's postmaster and its backends). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** CPU of the machine in a window: everything, and what the tracked processes used. */
export interface MachineWindow {
  seconds: number;
  /** Cores busy on the whole machine (all processes). */
  busyCores: number;
  /** Cores used by PostgreSQL (postmaster and backends), when tracked with trackTree. */
  postgresCores: number;
  postgresCpuSeconds: number;
}

export interface WindowStats {
  /** Median VmRSS over the window, MiB. */
  steadyRss: number;
  /** Highest sampled VmRSS in the window, MiB. */
  peakRss: number;
  /** CPU used in the window, in cores (1 = one core busy all the time). */
  cpuCores: number;
  cpuSeconds: number;
}

/**
 * Samples VmRSS of named processes every `intervalMs`. `window()` starts a measurement window
 * whose `end()` gives each process's steady (median) and peak RSS and its CPU in that window;
 * `peakMiB(name)` is the highest RSS sampled over the sampler's life (or VmHWM, if higher).
 */
export function startSampler(intervalMs = 200): {
  track(name: string, pid: number): void;
  untrack(name: string): void;
  /** PostgreSQL: CPU of the postmaster and its backends (no RSS: shared buffers blur it). */
  trackPostgres(postmasterPid: number): void;
  window(): { end(): Map<string, WindowStats>; machine(): MachineWindow };
  peakMiB(name: string): number;
  stop(): void;
} {
  const pids = new Map<string, number>();
  const peaks = new Map<string, number>();
  const windows = new Set<Map<string, number[]>>();
  const sample = (): void => {
    for (const [name, pid] of pids) {
      const { rss, hwm } = memoryMiB(pid);
      if (rss === 0) continue;
      peaks.set(name, Math.max(peaks.get(name) ?? 0, rss, hwm));
      for (const w of windows) {
        const list = w.get(name);
        if (list) list.push(rss);
        else w.set(name, [rss]);
      }
    }
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  let postmaster = 0;
  const postgresCpu = (pids: readonly number[]): number => pids.reduce((sum, p) => sum + cpuSeconds(p), 0);
  return {
    trackPostgres(pid) {
      postmaster = pid;
    },
    track(name, pid) {
      pids.set(name, pid);
      sample();
    },
    untrack(name) {
      pids.delete(name);
    },
    window() {
      const samples = new Map<string, number[]>();
      const startedAt = performance.now();
      const cpuAtStart = new Map([...pids].map(([name, pid]) => [name, cpuSeconds(pid)]));
      const machineAtStart = machineCpuSeconds();
      const pgPids = postmaster > 0 ? processTree(postmaster) : [];
      const pgAtStart = postgresCpu(pgPids);
      let machine: MachineWindow | undefined;
      windows.add(samples);
      sample();
      return {
        machine() {
          if (!machine) throw new Error("end() the window first");
          return machine;
        },
        end() {
          const machineNow = machineCpuSeconds();
          const pgCpu = Math.max(0, postgresCpu(pgPids) - pgAtStart);
          const wall = (performance.now() - startedAt) / 1000;
          machine = {
            seconds: wall,
            busyCores: wall > 0 ? (machineNow.busy - machineAtStart.busy) / wall : 0,
            postgresCores: wall > 0 ? pgCpu / wall : 0,
            postgresCpuSeconds: pgCpu,
          };
          sample();
          windows.delete(samples);
          const elapsed = (performance.now() - startedAt) / 1000;
          const out = new Map<string, WindowStats>();
          for (const [name, pid] of pids) {
            const rss = samples.get(name) ?? [];
            const cpu = Math.max(0, cpuSeconds(pid) - (cpuAtStart.get(name) ?? 0));
            out.set(name, {
              steadyRss: median(rss),
              peakRss: Math.max(0, ...rss),
              cpuSeconds: cpu,
              cpuCores: elapsed > 0 ? cpu / elapsed : 0,
            });
          }
          return out;
        },
      };
    },
    peakMiB: (name) => peaks.get(name) ?? 0,
    stop() {
      clearInterval(timer);
    },
  };
}
