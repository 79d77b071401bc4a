export * from "./access-token-verifier.ts";
export * from "./bearer-verifier.ts";
export * from "./jwks-loader.ts";
export * from "./require-access-token.ts";
export * from "./require-bearer.ts";
