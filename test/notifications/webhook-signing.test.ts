import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  createSecretBox,
  generateSigningSecret,
  signPayload,
} from "../../services/notifications/src/domain/webhook-signing.ts";
import { verifyStandardWebhook } from "./webhook-receiver.ts";

describe("Standard Webhooks signatures", () => {
  it("when signing the reference library's test vector, then the signature is the published one", () => {
    // standard-webhooks/standard-webhooks libraries/javascript/src/webhook.test.ts, "sign function works"
    expect(
      signPayload(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        '{"test": 2432232314}',
      ),
    ).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("when a secret is generated, then it is whsec_ and 32 random bytes in base64, and signatures verify", () => {
    const secret = generateSigningSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), "base64")).toHaveLength(32);
    expect(generateSigningSecret()).not.toBe(secret);

    const body = JSON.stringify({ specversion: "1.0", id: "e1", data: { title: "ünïcode ✓" } });
    const header = signPayload(secret, "d1", 1_700_000_000, body);
    expect(verifyStandardWebhook(secret, "d1", "1700000000", body, header)).toBe(true);
    expect(verifyStandardWebhook(secret, "d1", "1700000001", body, header)).toBe(false);
    expect(verifyStandardWebhook(secret, "d2", "1700000000", body, header)).toBe(false);
    expect(verifyStandardWebhook(secret, "d1", "1700000000", `${body} `, header)).toBe(false);
    expect(verifyStandardWebhook(generateSigningSecret(), "d1", "1700000000", body, header)).toBe(false);
  });
});

describe("signing secrets at rest", () => {
  const key = randomBytes(32);

  it("when a secret is sealed, then it opens with the same key and webhook id only", () => {
    const box = createSecretBox(key);
    const sealed = box.seal("whsec_abc", "webhook-1");
    expect(sealed).not.toContain("whsec_abc");
    expect(sealed.startsWith("v1.")).toBe(true);
    expect(box.open(sealed, "webhook-1")).toBe("whsec_abc");
    // Fresh IV per seal.
    expect(box.seal("whsec_abc", "webhook-1")).not.toBe(sealed);
    expect(() => box.open(sealed, "webhook-2")).toThrow();
    expect(() => createSecretBox(randomBytes(32)).open(sealed, "webhook-1")).toThrow();
    const [v, iv, ct, tag] = sealed.split(".") as [string, string, string, string];
    const flipped = Buffer.from(ct, "base64url");
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(() => box.open([v, iv, flipped.toString("base64url"), tag].join("."), "webhook-1")).toThrow();
    expect(() => box.open("plain", "webhook-1")).toThrow(/known format/);
  });

  it("when the key is not 32 bytes, then the box refuses it", () => {
    expect(() => createSecretBox(randomBytes(16))).toThrow(/32 bytes/);
  });
});
