import type { PrismaClient } from "@taskmesh/db";

type Data = Record<string, unknown>;

/**
 * Better Auth's Prisma adapter writes `null` for a `string[]` field it has no value for
 * (@better-auth/oauth-provider's optional lists: contacts, allowedScopes, ...), but a Prisma
 * scalar list cannot be set to null (and a NULL column reads back as []). This client drops
 * those nulls from creates (the column stays NULL) and turns them into [] in updates, so the
 * adapter can write every OAuth table; all other writes pass through unchanged.
 */
export function withNullableLists(prisma: PrismaClient) {
  const runtime = (
    prisma as unknown as {
      _runtimeDataModel: {
        models: Record<string, { fields: { name: string; isList: boolean; kind: string }[] }>;
      };
    }
  )._runtimeDataModel;
  const lists = new Map<string, Set<string>>();
  for (const [model, { fields }] of Object.entries(runtime.models)) {
    const names = fields.filter((f) => f.isList && f.kind === "scalar").map((f) => f.name);
    if (names.length > 0) lists.set(model, new Set(names));
  }
  const clean = (model: string, data: unknown, onNull: "omit" | "empty"): void => {
    const fields = lists.get(model);
    if (!fields || typeof data !== "object" || data === null) return;
    for (const item of Array.isArray(data) ? (data as Data[]) : [data as Data]) {
      for (const name of fields) {
        if (item[name] !== null) continue;
        if (onNull === "omit") Reflect.deleteProperty(item, name);
        else item[name] = [];
      }
    }
  };
  return prisma.$extends({
    query: {
      $allModels: {
        create({ model, args, query }) {
          clean(model, args.data, "omit");
          return query(args);
        },
        createMany({ model, args, query }) {
          clean(model, args.data, "omit");
          return query(args);
        },
        update({ model, args, query }) {
          clean(model, args.data, "empty");
          return query(args);
        },
        updateMany({ model, args, query }) {
          clean(model, args.data, "empty");
          return query(args);
        },
        upsert({ model, args, query }) {
          clean(model, args.create, "omit");
          clean(model, args.update, "empty");
          return query(args);
        },
      },
    },
  });
}
