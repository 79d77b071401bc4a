/**
 * What the API answers, parsed with zod: the tasks and their history as the REST contract
 * (@taskmesh/contracts) has them; for the rest, only the fields the smoke test relies on.
 */
import { z } from "zod";

/** Better Auth's sign-up, sign-in and session answers. */
export const authUserSchema = z.looseObject({
  user: z.looseObject({ id: z.string().min(1), email: z.string() }),
});
export const accessTokenSchema = z.looseObject({ token: z.string().min(1) });
export const personalAccessTokenSchema = z.looseObject({
  id: z.string().min(1),
  token: z.string().startsWith("tmpat_"),
  scope: z.literal("read"),
});
export const problemSchema = z.looseObject({ title: z.string().optional(), detail: z.string().optional() });
export const healthSchema = z.looseObject({ status: z.string().optional() });
export const authServerMetadataSchema = z.looseObject({
  issuer: z.string(),
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
});
export const resourceMetadataSchema = z.looseObject({
  resource: z.string(),
  authorization_servers: z.array(z.string()).min(1),
});
export const streamEventSchema = z.looseObject({
  id: z.string(),
  type: z.string(),
  data: z.looseObject({ taskId: z.string().optional() }),
});
export const getTaskResultSchema = z.looseObject({
  isError: z.boolean().optional(),
  structuredContent: z.looseObject({ task: z.looseObject({ id: z.string(), title: z.string() }) }),
});

export type StreamEvent = z.infer<typeof streamEventSchema>;
