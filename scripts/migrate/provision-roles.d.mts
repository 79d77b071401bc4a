/** Types of provision-roles.mjs (plain ESM so that it runs in the migrate image without TypeScript). */
export declare const SERVICE_GROUPS: Readonly<Record<"task-api" | "audit-log" | "notifications", string>>;
export declare const STATE_STORES: Readonly<
  Record<"recurring-tasks-state" | "notifications-state", { schema: string; tables: string[] }>
>;
/** The SCRAM-SHA-256 verifier PostgreSQL stores for a password. */
export declare function scramVerifier(password: string, salt?: Buffer, iterations?: number): string;
export declare function credentialsOf(connectionString: string): { user: string; password: string };
/** Progress lines (default: one JSON line on stdout). */
export type ProvisionLog = (level: string, msg: string, fields?: Record<string, unknown>) => void;
export declare function provisionServiceLogins(options: {
  ownerUrl: string;
  logins: Partial<Record<keyof typeof SERVICE_GROUPS, string>>;
  log?: ProvisionLog;
}): Promise<void>;
export declare function provisionStateLogins(options: {
  ownerUrl: string;
  logins: Partial<Record<keyof typeof STATE_STORES, string>>;
  log?: ProvisionLog;
}): Promise<void>;
