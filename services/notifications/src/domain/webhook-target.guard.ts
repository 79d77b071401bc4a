import { lookup as dnsLookup } from "node:dns/promises";
import { isIPv4, isIPv6 } from "node:net";

/** One address a host name resolved to, as dns.lookup answers it. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (dns.lookup with `all: true` in production). */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: HostResolver = async (hostname) => {
  const addresses = await dnsLookup(hostname, { all: true, order: "verbatim" });
  return addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** Why a webhook target is refused; `reason` is a sentence for the API client and the delivery log. */
export class WebhookTargetRefused extends Error {
  readonly reason: "invalid-url" | "private-address" | "port" | "unresolvable";
  constructor(reason: WebhookTargetRefused["reason"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WebhookTargetRefused";
    this.reason = reason;
  }
}

/** A target that passed the check: connect to `address`, never to a second resolution of the host. */
export interface CheckedTarget {
  url: URL;
  /** The host as it goes into Host and TLS SNI (no brackets around IPv6 literals). */
  hostname: string;
  address: ResolvedAddress;
}

type Range = readonly [prefix: number[], bits: number, kind: string];

// IANA special-purpose registries (RFC 6890 and updates). Anything listed is not a public
// unicast address a user's webhook may point at.
const IPV4_RANGES: readonly Range[] = [
  [[0, 0, 0, 0], 8, "an unspecified (this-network)"],
  [[10, 0, 0, 0], 8, "a private"],
  [[100, 64, 0, 0], 10, "a carrier-grade NAT (shared)"],
  [[127, 0, 0, 0], 8, "a loopback"],
  [[169, 254, 0, 0], 16, "a link-local (cloud metadata)"],
  [[172, 16, 0, 0], 12, "a private"],
  [[192, 0, 0, 0], 24, "an IETF protocol"],
  [[192, 0, 2, 0], 24, "a documentation"],
  [[192, 31, 196, 0], 24, "an AS112"],
  [[192, 52, 193, 0], 24, "an AMT"],
  [[192, 88, 99, 0], 24, "a 6to4 relay"],
  [[192, 168, 0, 0], 16, "a private"],
  [[192, 175, 48, 0], 24, "an AS112"],
  [[198, 18, 0, 0], 15, "a benchmarking"],
  [[198, 51, 100, 0], 24, "a documentation"],
  [[203, 0, 113, 0], 24, "a documentation"],
  [[224, 0, 0, 0], 4, "a multicast"],
  [[240, 0, 0, 0], 4, "a reserved (or broadcast)"],
];

// Inside 2000::/3 (the only global unicast space; everything outside it is refused as a whole:
// loopback, unspecified, unique-local, link-local, site-local, multicast, discard...).
const IPV6_GLOBAL_RANGES: readonly Range[] = [
  [[0x20, 0x01, 0x00, 0x00], 23, "an IETF protocol (Teredo, benchmarking, ORCHID)"],
  [[0x20, 0x01, 0x0d, 0xb8], 32, "a documentation"],
  [[0x3f, 0xff, 0x00, 0x00], 20, "a documentation"],
];

function inRange(bytes: readonly number[], prefix: readonly number[], bits: number): boolean {
  for (let i = 0; i < bits; i += 8) {
    const take = Math.min(8, bits - i);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((bytes[i / 8] ?? 0) & mask) !== ((prefix[i / 8] ?? 0) & mask)) return false;
  }
  return true;
}

function ipv4Bytes(address: string): number[] {
  return address.split(".").map(Number);
}

/** The 16 bytes of an IPv6 address (already checked by isIPv6; zone id dropped, dotted tail allowed). */
function ipv6Bytes(address: string): number[] {
  let text = address.replace(/%.*$/, "").toLowerCase();
  const lastColon = text.lastIndexOf(":");
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    const [a = 0, b = 0, c = 0, d = 0] = ipv4Bytes(last);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const hextets = (part: string) => (part === "" ? [] : part.split(":").map((h) => parseInt(h, 16)));
  const [head = "", rest] = text.split("::");
  const left = hextets(head);
  const right = rest === undefined ? [] : hextets(rest);
  const words =
    rest === undefined
      ? left
      : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return words.flatMap((w) => [(w >> 8) & 0xff, w & 0xff]);
}

function ipv4Kind(bytes: readonly number[]): string | undefined {
  return IPV4_RANGES.find(([prefix, bits]) => inRange(bytes, prefix, bits))?.[2];
}

/**
 * Why `address` (an IPv4 or IPv6 literal) must not be a webhook target, as "a loopback",
 * "a private"..., or undefined for a public unicast address. IPv6 forms that carry an IPv4
 * address (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are judged by the IPv4 address inside.
 */
export function nonPublicKind(address: string): string | undefined {
  if (isIPv4(address)) return ipv4Kind(ipv4Bytes(address));
  if (!isIPv6(address)) return "an unparseable";
  const b = ipv6Bytes(address);
  const embedded = (from: number) => b.slice(from, from + 4);
  const zeros = (n: number) => b.slice(0, n).every((x) => x === 0);
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated; covers :: and ::1 too)
  if (zeros(10) && b[10] === 0xff && b[11] === 0xff) {
    return ipv4Kind(embedded(12));
  }
  if (zeros(12)) {
    if (b[15] === 1 && b[14] === 0 && b[13] === 0 && b[12] === 0) return "a loopback";
    if (b.every((x) => x === 0)) return "an unspecified";
    return "an IPv4-compatible (deprecated)";
  }
  // 64:ff9b::/96: NAT64 of an IPv4 address; 64:ff9b:1::/48 is local-use NAT64.
  if (inRange(b, [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 96)) return ipv4Kind(embedded(12));
  // 2002::/16: 6to4, the IPv4 address in bits 16-47.
  if (inRange(b, [0x20, 0x02], 16)) return ipv4Kind(embedded(2));
  if (!inRange(b, [0x20], 3)) {
    if (inRange(b, [0xfc], 7)) return "a unique-local";
    if (inRange(b, [0xfe, 0x80], 10)) return "a link-local";
    if (inRange(b, [0xff], 8)) return "a multicast";
    return "a non-global IPv6";
  }
  return IPV6_GLOBAL_RANGES.find(([prefix, bits]) => inRange(b, prefix, bits))?.[2];
}

/**
 * Parses a webhook URL: http(s) only, no credentials, no fragment. Throws WebhookTargetRefused
 * ("invalid-url") otherwise. The host comes from the WHATWG parser, so odd spellings of an
 * address (http://2130706433/, http://0x7f.1/) are already normalised to 127.0.0.1.
 */
export function parseWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetRefused("invalid-url", "is not an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new WebhookTargetRefused("invalid-url", "must be an http or https URL");
  }
  if (url.username !== "" || url.password !== "") {
    throw new WebhookTargetRefused("invalid-url", "must not contain credentials (user:password@)");
  }
  if (url.hash !== "") throw new WebhookTargetRefused("invalid-url", "must not contain a fragment (#...)");
  if (url.hostname === "") throw new WebhookTargetRefused("invalid-url", "must name a host");
  return url;
}

/** The ports a webhook may target unless configured otherwise: HTTP's and HTTPS's own. */
export const DEFAULT_WEBHOOK_PORTS: readonly number[] = [80, 443];

/** The port a URL connects to (its explicit port, or the scheme's default). */
export function portOf(url: URL): number {
  if (url.port !== "") return Number(url.port);
  return url.protocol === "https:" ? 443 : 80;
}

export interface WebhookTargetGuardOptions {
  /** true in tests and local development: private and loopback targets (on any port) are allowed. */
  allowPrivateTargets: boolean;
  /**
   * Ports a target may use (default 80 and 443): a webhook must not become a way to reach
   * mail, database or admin ports of public hosts. Ignored when allowPrivateTargets is set.
   */
  allowedPorts?: readonly number[];
  resolve?: HostResolver;
}

export interface WebhookTargetGuard {
  /**
   * Parses the URL, resolves its host (every address) and refuses it when any address is
   * not public (unless private targets are allowed). Returns the address to connect to.
   */
  check(rawUrl: string): Promise<CheckedTarget>;
}

/** The SSRF guard, used at registration and again at every delivery attempt. */
export function createWebhookTargetGuard(options: WebhookTargetGuardOptions): WebhookTargetGuard {
  const resolve = options.resolve ?? systemResolver;
  const allowedPorts = options.allowedPorts ?? DEFAULT_WEBHOOK_PORTS;
  return {
    async check(rawUrl) {
      const url = parseWebhookUrl(rawUrl);
      const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
      let addresses: ResolvedAddress[];
      if (isIPv4(hostname) || isIPv6(hostname)) {
        addresses = [{ address: hostname, family: isIPv4(hostname) ? 4 : 6 }];
      } else {
        try {
          addresses = await resolve(hostname);
        } catch (error) {
          throw new WebhookTargetRefused("unresolvable", `host ${hostname} does not resolve`, {
            cause: error,
          });
        }
        if (addresses.length === 0) {
          throw new WebhookTargetRefused("unresolvable", `host ${hostname} has no address`);
        }
      }
      if (!options.allowPrivateTargets) {
        for (const { address } of addresses) {
          const kind = nonPublicKind(address);
          if (kind !== undefined) {
            throw new WebhookTargetRefused(
              "private-address",
              `${hostname === address ? "is" : `host ${hostname} resolves to`} ${address}, ${kind} address; webhook targets must be public`,
            );
          }
        }
      }
      if (!options.allowPrivateTargets && !allowedPorts.includes(portOf(url))) {
        throw new WebhookTargetRefused(
          "port",
          `uses port ${portOf(url)}; webhook targets may use port ${allowedPorts.join(" or ")} only`,
        );
      }
      const [first] = addresses as [ResolvedAddress, ...ResolvedAddress[]];
      return { url, hostname, address: first };
    },
  };
}
