import type { Page, Store, TagView } from "./ports.ts";

export function createTagUseCases(store: Store) {
  return {
    /** The user's tags by normalized name, each with how many open tasks carry it. */
    page(userId: string, after: string | undefined, limit: number): Promise<Page<TagView, string>> {
      return store.read.tags.findPage(userId, after, limit);
    },
  };
}

export type TagUseCases = ReturnType<typeof createTagUseCases>;
