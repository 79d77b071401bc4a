/** The REST shapes of personal access tokens (task-api's /v1/tokens). */
import { z } from "zod";
import "zod-openapi";
import { instantOut, storable } from "./common.schema.ts";

/** The longest a personal access token may live, and how long it lives unless told. */
export const MAX_TOKEN_DAYS = 365;
export const DEFAULT_TOKEN_DAYS = 30;

const tokenScope = z.enum(["read", "read-write"]).meta({
  id: "TokenScope",
  description:
    "read: GET and HEAD only. read-write: everything you may do, except managing tokens and deleting the account.",
});

export const createAccessTokenBody = z
  .strictObject({
    name: z
      .string()
      .trim()
      .min(1, "must not be blank")
      .max(100)
      .refine((s) => !s.includes("\u0000"), "must not contain NUL characters")
      .meta({ description: "What the token is for, 1-100 characters.", examples: ["Claude Desktop"] }),
    scope: tokenScope,
    expiresInDays: z
      .number()
      .int()
      .min(1)
      .max(MAX_TOKEN_DAYS)
      .optional()
      .meta({
        description: `Days until the token expires (1-${MAX_TOKEN_DAYS}); default ${DEFAULT_TOKEN_DAYS}.`,
      }),
    expiresAt: storable(z.iso.datetime({ offset: true }))
      .optional()
      .meta({
        description: `When the token expires instead: in the future, at most ${MAX_TOKEN_DAYS} days ahead.`,
      }),
  })
  .meta({ id: "CreateAccessToken", description: "Give expiresInDays or expiresAt, not both." });

export const accessTokenSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    scope: tokenScope,
    prefix: z.string().meta({
      description: "The token's first characters, to recognise it; not secret.",
      examples: ["tmpat_Xq3v9A"],
    }),
    createdAt: instantOut,
    expiresAt: instantOut,
    lastUsedAt: instantOut.nullable().meta({ description: "Last use, to the minute; null if never used." }),
  })
  .meta({ id: "AccessToken" });

export const createdAccessTokenSchema = accessTokenSchema
  .extend({
    token: z.string().meta({
      description: "The secret, shown only in this response: send it as Authorization: Bearer <token>.",
      examples: ["tmpat_Xq3v9A0bLr6sK1c2d3e4f5g6h7i8j9k0l1m2n3o4p5q"],
    }),
  })
  .meta({ id: "CreatedAccessToken" });
