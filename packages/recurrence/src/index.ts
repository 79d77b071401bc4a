export * from "./time.ts";
export * from "./recurrence.ts";
export * from "./search.ts";
export * from "./next-occurrence.ts";
