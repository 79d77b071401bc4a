/**
 * The words of a task search (GET /v1/tasks?q=): letters, digits and underscores, lower-cased,
 * each once, at most 16; undefined when the text has no word. Each matches as a prefix.
 */
export function searchWords(q: string): string[] | undefined {
  const words = q.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];
  const unique = [...new Set(words)].slice(0, 16);
  return unique.length === 0 ? undefined : unique;
}
