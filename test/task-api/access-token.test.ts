import { exportJWK, generateKeyPair, SignJWT, type JSONWebKeySet } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createAccessTokenVerifier } from "@taskmesh/auth";

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

const ISSUER = "http://task-api.test";
const AUDIENCE = "taskmesh";

describe("access token verifier", () => {
  let jwks: JSONWebKeySet;
  let privateKey: PrivateKey;
  let otherKey: PrivateKey;
  let clock = Date.UTC(2026, 10, 26, 12, 0, 0);
  const now = () => clock;

  beforeAll(async () => {
    const pair = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    privateKey = pair.privateKey;
    otherKey = (await generateKeyPair("EdDSA", { crv: "Ed25519" })).privateKey;
    jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "EdDSA" }] };
  });

  const sign = (key: PrivateKey, claims: { sub?: string; exp: number; aud?: string; kid?: string }) =>
    new SignJWT(claims.sub === undefined ? {} : { sub: claims.sub })
      .setProtectedHeader({ alg: "EdDSA", kid: claims.kid ?? "k1" })
      .setIssuer(ISSUER)
      .setAudience(claims.aud ?? AUDIENCE)
      .setIssuedAt(Math.floor(clock / 1000))
      .setExpirationTime(claims.exp)
      .sign(key);

  it("when a token is valid, then its subject is returned, and a cached token stops working at its exp", async () => {
    let loads = 0;
    const verify = createAccessTokenVerifier({
      loadJwks: () => {
        loads++;
        return Promise.resolve(jwks);
      },
      issuer: ISSUER,
      audience: AUDIENCE,
      now,
    });
    const exp = Math.floor(clock / 1000) + 60;
    const token = await sign(privateKey, { sub: "user-1", exp });
    expect(await verify(token)).toBe("user-1");
    expect(await verify(token)).toBe("user-1");
    expect(loads).toBe(1);
    clock = exp * 1000 + 1;
    await expect(verify(token)).rejects.toThrow();
  });

  it("when a token is signed by another key, has another audience, or no subject, then it is refused", async () => {
    const verify = createAccessTokenVerifier({
      loadJwks: () => Promise.resolve(jwks),
      issuer: ISSUER,
      audience: AUDIENCE,
      now,
    });
    const exp = Math.floor(clock / 1000) + 60;
    await expect(verify(await sign(otherKey, { sub: "user-1", exp }))).rejects.toThrow();
    await expect(
      verify(await sign(privateKey, { sub: "user-1", exp, aud: "someone-else" })),
    ).rejects.toThrow();
    await expect(verify(await sign(privateKey, { exp }))).rejects.toThrow("no subject");
    const valid = await sign(privateKey, { sub: "user-1", exp });
    const [header, payload] = valid.split(".");
    const forged = `${header}.${Buffer.from(JSON.stringify({ sub: "user-2", iss: ISSUER, aud: AUDIENCE, exp })).toString("base64url")}.${valid.split(".")[2]}`;
    expect(await verify(valid)).toBe("user-1");
    await expect(verify(forged)).rejects.toThrow();
    expect(payload).toBeDefined();
  });

  it("when a token names an unknown key id, then the key set is reloaded (at most every 30 s)", async () => {
    let current: JSONWebKeySet = { keys: [] };
    let loads = 0;
    const verify = createAccessTokenVerifier({
      loadJwks: () => {
        loads++;
        return Promise.resolve(current);
      },
      issuer: ISSUER,
      audience: AUDIENCE,
      now,
    });
    const exp = Math.floor(clock / 1000) + 600;
    const token = await sign(privateKey, { sub: "user-3", exp });
    await expect(verify(token)).rejects.toThrow();
    current = jwks;
    await expect(verify(token)).rejects.toThrow(); // within 30 s of the last load: no reload
    clock += 31_000;
    expect(await verify(token)).toBe("user-3");
    expect(loads).toBe(2);
  });
});
