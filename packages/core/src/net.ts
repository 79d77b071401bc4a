import { createServer } from "node:net";

// Ports handed out by freePort come from 20000-31999, below Linux's ephemeral range
// (32768-60999), where the OS picks the source ports of outgoing connections and the ports
// of listen(0): a port found free there can be taken by any connection before its new owner
// (a daprd, a broker) binds it, and under load that happened. Each process takes its own slice
// (by vitest worker, else by pid), so two test workers never probe the same ports, and within
// a process no port is handed out twice until the slice wraps.
const RANGE_START = 20_000;
const SLICE_SIZE = 500;
const SLICES = 24;

let nextInSlice: number | undefined;

function sliceStart(): number {
  const pool = Number(process.env.VITEST_POOL_ID);
  const index = Number.isInteger(pool) && pool > 0 ? pool % SLICES : process.pid % SLICES;
  return RANGE_START + index * SLICE_SIZE;
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.unref();
    probe.once("error", () => {
      resolve(false);
    });
    probe.listen({ port, host, exclusive: true }, () => {
      probe.close(() => {
        resolve(true);
      });
    });
  });
}

/**
 * A TCP port that is free on `host` and on every interface (some servers bind both), and that
 * this process has not handed out before: for processes that must be told their port
 * (daprd, Kafka, PostgreSQL). A server that can listen on port 0 should do that instead.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const start = sliceStart();
  for (let tries = 0; tries < SLICE_SIZE; tries++) {
    const offset = nextInSlice ?? 0;
    nextInSlice = (offset + 1) % SLICE_SIZE;
    const port = start + offset;
    if ((await canListen(port, host)) && (await canListen(port, "0.0.0.0"))) return port;
  }
  throw new Error(`no free port in ${start}-${start + SLICE_SIZE - 1}`);
}
