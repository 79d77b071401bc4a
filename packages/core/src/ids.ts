const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether `value` is a UUID in its usual hyphenated form. User ids are stored in uuid columns:
 * a query with anything else would fail PostgreSQL's cast (22P02, a 500), so repositories answer
 * "no such user" for it instead, without asking the database.
 */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
