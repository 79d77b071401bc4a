import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";

/**
 * Signing per the Standard Webhooks specification 1.0 (standardwebhooks.com), so receivers can
 * verify with any of its libraries:
 * - the secret is shown as `whsec_` + base64 of 32 random bytes; the HMAC key is those bytes;
 * - the signed content is `${webhook-id}.${webhook-timestamp}.${body}`;
 * - `webhook-signature` is `v1,` + base64(HMAC-SHA256(key, content)).
 */
export const SECRET_PREFIX = "whsec_";
const SECRET_BYTES = 32;

export function generateSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString("base64");
}

function signingKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error("not a whsec_ signing secret");
  return Buffer.from(secret.slice(SECRET_PREFIX.length), "base64");
}

/** The `webhook-signature` header value for one attempt. `timestamp` is in Unix seconds. */
export function signPayload(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac("sha256", signingKey(secret)).update(`${id}.${timestamp}.${body}`).digest("base64");
  return `v1,${mac}`;
}

const BOX_VERSION = "v1";

/**
 * Signing secrets at rest: AES-256-GCM under notifications' key (WEBHOOK_SECRET_KEY), as
 * `v1.<iv>.<ciphertext>.<tag>` (base64url). The webhook id is the additional authenticated
 * data, so a secret copied onto another webhook's row does not decrypt.
 */
export interface SecretBox {
  seal(plaintext: string, webhookId: string): string;
  open(sealed: string, webhookId: string): string;
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error("the webhook secret key must be 32 bytes");
  return {
    seal(plaintext, webhookId) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(Buffer.from(webhookId));
      const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return [BOX_VERSION, iv, ciphertext, cipher.getAuthTag()]
        .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
        .join(".");
    },
    open(sealed, webhookId) {
      const [version, iv, ciphertext, tag] = sealed.split(".");
      if (version !== BOX_VERSION || iv === undefined || ciphertext === undefined || tag === undefined) {
        throw new Error("the stored webhook secret is not in a known format");
      }
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
      decipher.setAAD(Buffer.from(webhookId));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertext, "base64url")),
        decipher.final(),
      ]).toString("utf8");
    },
  };
}
