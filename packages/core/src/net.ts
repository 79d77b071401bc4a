import { randomInt } from "node:crypto";
import { createServer } from "node:net";

// Ports handed out by freePort are picked at random from 20000-31999, below Linux's ephemeral
// range (32768-60999), where the OS picks the source ports of outgoing connections and the
// ports of listen(0): a port found free there can be taken by any connection before its new
// owner (a daprd, a broker) binds it, and under load that happened. Picking at random keeps
// concurrent processes (test workers, a second test run) from probing the same ports in the
// same order; a process never hands out a port twice.
const RANGE_START = 20_000;
const RANGE_SIZE = 12_000;

const handedOut = new Set<number>();

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
  for (let tries = 0; tries < 1000; tries++) {
    const port = RANGE_START + randomInt(RANGE_SIZE);
    if (handedOut.has(port)) continue;
    if ((await canListen(port, host)) && (await canListen(port, "0.0.0.0"))) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${RANGE_START}-${RANGE_START + RANGE_SIZE - 1}`);
}
