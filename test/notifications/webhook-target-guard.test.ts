import { describe, expect, it } from "vitest";
import {
  createWebhookTargetGuard,
  nonPublicKind,
  parseWebhookUrl,
  WebhookTargetRefused,
} from "../../services/notifications/src/domain/webhook-target.guard.ts";

describe("nonPublicKind", () => {
  it.each([
    ["127.0.0.1", "a loopback"],
    ["127.255.0.9", "a loopback"],
    ["10.1.2.3", "a private"],
    ["172.16.0.1", "a private"],
    ["172.31.255.255", "a private"],
    ["192.168.1.1", "a private"],
    ["169.254.169.254", "a link-local (cloud metadata)"],
    ["100.64.0.1", "a carrier-grade NAT (shared)"],
    ["100.100.100.200", "a carrier-grade NAT (shared)"],
    ["0.0.0.0", "an unspecified (this-network)"],
    ["224.0.0.1", "a multicast"],
    ["255.255.255.255", "a reserved (or broadcast)"],
    ["198.18.0.1", "a benchmarking"],
    ["192.0.2.10", "a documentation"],
    ["::1", "a loopback"],
    ["::", "an unspecified"],
    ["::ffff:127.0.0.1", "a loopback"],
    ["::ffff:7f00:1", "a loopback"],
    ["::ffff:10.0.0.1", "a private"],
    ["::ffff:169.254.169.254", "a link-local (cloud metadata)"],
    ["::127.0.0.1", "an IPv4-compatible (deprecated)"],
    ["64:ff9b::a9fe:a9fe", "a link-local (cloud metadata)"],
    ["64:ff9b::7f00:1", "a loopback"],
    ["2002:7f00:1::", "a loopback"],
    ["2002:c0a8:101::1", "a private"],
    ["fc00::1", "a unique-local"],
    ["fd00:ec2::254", "a unique-local"],
    ["fe80::1", "a link-local"],
    ["fe80::1%eth0", "a link-local"],
    ["ff02::1", "a multicast"],
    ["fec0::1", "a non-global IPv6"],
    ["100::1", "a non-global IPv6"],
    ["2001:db8::1", "a documentation"],
    ["2001::1", "an IETF protocol (Teredo, benchmarking, ORCHID)"],
  ])("when the address is %s, then it is %s address", (address, kind) => {
    expect(nonPublicKind(address)).toBe(kind);
  });

  it.each([
    "8.8.8.8",
    "1.1.1.1",
    "172.32.0.1",
    "100.128.0.1",
    "169.255.0.1",
    "192.169.0.1",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
  ])("when the address is %s, then it is public", (address) => {
    expect(nonPublicKind(address)).toBeUndefined();
  });
});

describe("parseWebhookUrl", () => {
  it.each([
    ["ftp://example.com/x", /http or https/],
    ["file:///etc/passwd", /http or https/],
    ["javascript:alert(1)", /http or https/],
    ["https://user:pw@example.com/", /credentials/],
    ["https://user@example.com/", /credentials/],
    ["https://example.com/#frag", /fragment/],
    ["not a url", /absolute URL/],
    ["/relative", /absolute URL/],
  ])("when the URL is %s, then it is refused", (url, message) => {
    expect(() => parseWebhookUrl(url)).toThrow(message);
  });

  it("when the host is spelled oddly, then the WHATWG parser normalises it before any check", () => {
    expect(parseWebhookUrl("http://2130706433/hook").hostname).toBe("127.0.0.1");
    expect(parseWebhookUrl("http://0x7f.1/hook").hostname).toBe("127.0.0.1");
    expect(parseWebhookUrl("http://[::ffff:127.0.0.1]/").hostname).toBe("[::ffff:7f00:1]");
  });
});

describe("the SSRF guard", () => {
  const strict = createWebhookTargetGuard({ allowPrivateTargets: false });

  async function refusal(url: string): Promise<WebhookTargetRefused> {
    const error: unknown = await strict.check(url).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof WebhookTargetRefused)) throw new Error(`${url} was not refused`);
    return error;
  }

  it.each([
    ["http://127.0.0.1:8080/hook", /is 127\.0\.0\.1, a loopback address/],
    ["http://10.0.0.5/hook", /is 10\.0\.0\.5, a private address/],
    ["http://169.254.169.254/latest/meta-data/", /169\.254\.169\.254, a link-local \(cloud metadata\)/],
    ["http://[::1]:3000/", /is ::1, a loopback address/],
    ["http://[::ffff:169.254.169.254]/", /link-local/],
    ["http://2130706433/", /127\.0\.0\.1, a loopback/],
    ["http://localhost:9/hook", /host localhost resolves to (127\.0\.0\.1|::1), a loopback address/],
  ])("when private targets are not allowed and the URL is %s, then it is refused", async (url, message) => {
    const error = await refusal(url);
    expect(error.reason).toBe("private-address");
    expect(error.message).toMatch(message);
  });

  it("when any one of the addresses a host resolves to is private, then the host is refused", async () => {
    const guard = createWebhookTargetGuard({
      allowPrivateTargets: false,
      resolve: () =>
        Promise.resolve([
          { address: "93.184.215.14", family: 4 },
          { address: "10.0.0.1", family: 4 },
        ]),
    });
    await expect(guard.check("https://example.test/hook")).rejects.toThrow(/resolves to 10\.0\.0\.1/);
  });

  it("when every address is public, then the first one is the address to connect to", async () => {
    const guard = createWebhookTargetGuard({
      allowPrivateTargets: false,
      // An explicit allowed-ports setting (WEBHOOK_ALLOWED_PORTS) admits another port.
      allowedPorts: [443, 8443],
      resolve: () =>
        Promise.resolve([
          { address: "2606:4700:4700::1111", family: 6 },
          { address: "1.1.1.1", family: 4 },
        ]),
    });
    const target = await guard.check("https://one.example.test:8443/x?y=1");
    expect(target.address).toEqual({ address: "2606:4700:4700::1111", family: 6 });
    expect(target.hostname).toBe("one.example.test");
    expect(target.url.href).toBe("https://one.example.test:8443/x?y=1");
  });

  it("when the host does not resolve, then it is refused as unresolvable", async () => {
    const error = await refusal("https://no-such-host.invalid/hook");
    expect(error.reason).toBe("unresolvable");
  });

  it("when private targets are allowed, then loopback passes with the address it resolved to", async () => {
    const open = createWebhookTargetGuard({ allowPrivateTargets: true });
    const target = await open.check("http://[::1]:3000/hook");
    expect(target).toMatchObject({ hostname: "::1", address: { address: "::1", family: 6 } });
    await expect(open.check("ftp://127.0.0.1/")).rejects.toThrow(/http or https/);
  });

  it("when a public target uses a port other than 80 or 443, then it is refused unless the port is allowed or private targets are", async () => {
    const strict = createWebhookTargetGuard({ allowPrivateTargets: false });
    for (const url of ["https://1.1.1.1:8443/hook", "http://1.1.1.1:25/", "http://1.1.1.1:6379/"]) {
      const error = await strict.check(url).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, url).toBeInstanceOf(WebhookTargetRefused);
      expect((error as WebhookTargetRefused).reason).toBe("port");
      expect((error as Error).message).toMatch(/port 80 or 443 only/);
    }
    await expect(strict.check("https://1.1.1.1/hook")).resolves.toMatchObject({ hostname: "1.1.1.1" });
    await expect(strict.check("http://1.1.1.1:80/hook")).resolves.toMatchObject({ hostname: "1.1.1.1" });
    await expect(strict.check("http://1.1.1.1:443/hook")).resolves.toMatchObject({ hostname: "1.1.1.1" });
    const configured = createWebhookTargetGuard({ allowPrivateTargets: false, allowedPorts: [8443] });
    await expect(configured.check("https://1.1.1.1:8443/hook")).resolves.toBeDefined();
    await expect(configured.check("https://1.1.1.1/hook")).rejects.toThrow(/port 8443 only/);
  });
});
