export * from "./access-token-verifier.ts";
export * from "./jwks-loader.ts";
export * from "./require-access-token.ts";
