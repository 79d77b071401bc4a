/** The REST shapes of lists. */
import { z } from "zod";
import "zod-openapi";
import { id, instantOut, noNul } from "./common.schema.ts";
import { pageOf } from "./page.schema.ts";

const listName = z
  .string()
  .trim()
  .min(1, "must not be blank")
  .max(100)
  .refine(noNul, "must not contain NUL characters");
export const createListBody = z.strictObject({ name: listName }).meta({ id: "CreateList" });
export type CreateListBody = z.infer<typeof createListBody>;
export const updateListBody = z.strictObject({ name: listName }).partial().meta({ id: "UpdateList" });
export type UpdateListBody = z.infer<typeof updateListBody>;
export const listSchema = z
  .object({
    id,
    name: z.string(),
    openTaskCount: z.number().int(),
    createdAt: instantOut,
    updatedAt: instantOut,
    version: z.number().int(),
  })
  .meta({ id: "List" });
export type List = z.infer<typeof listSchema>;
export const listPageSchema = pageOf(listSchema, "ListPage");
