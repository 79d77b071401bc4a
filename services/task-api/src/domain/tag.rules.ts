/** Tag names match case-insensitively and without surrounding spaces. */
export function normalizeTagName(name: string): string {
  return name.trim().toLowerCase();
}
