// @ts-check
import eslint from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

/** Express and what lives on it: only http/ (and app.ts) speak HTTP. */
const HTTP_PACKAGES = [
  {
    group: ["express", "express/**", "express-*", "zod-openapi", "zod-openapi/**", "supertest"],
    message: "Domain code knows no req/res, status codes or OpenAPI: that is http/.",
  },
];

/** The database drivers: only data/ (and the composition root) touches them. */
const DATABASE_PACKAGES = [
  {
    group: ["pg", "pg/**", "@prisma/**", "@taskmesh/db", "**/generated/prisma", "**/generated/prisma/**"],
    message: "Only data/ talks to the database (Prisma, pg); take a repository or port instead.",
  },
];

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "**/dist/**",
      "coverage/**",
      ".data/**",
      "packages/db/src/generated/**",
      "bench-results/**",
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: [
            "*.js",
            "*.mjs",
            "scripts/*.mjs",
            "scripts/migrate/*.mjs",
            "scripts/git-hooks/*.mjs",
            "k8s/base/secrets-init/*.mjs",
          ],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": [
        "error",
        { allowNumber: true, allowBoolean: true },
      ],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "error",
    },
  },
  {
    // Scripts and tests are allowed to print; services and packages log through pino.
    files: ["scripts/**", "test/**", "*.ts", "*.js", "*.mjs"],
    rules: { "no-console": "off" },
  },
  // Layers are kept by lint (STYLE.md, "The house"): each room of a service imports only the
  // rooms beneath it. test/tooling/layers.test.ts proves every rule fires and the tree is clean.
  // The typescript-eslint rule is the core no-restricted-imports plus allowTypeImports. Each room
  // gets its whole list: a later config replaces a rule's options, it does not merge them.
  {
    files: ["services/*/src/domain/**"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            ...HTTP_PACKAGES,
            ...DATABASE_PACKAGES,
            {
              group: ["../http", "../http/**"],
              message: "Domain code knows no HTTP: routes call use cases, never the other way.",
            },
            {
              group: ["../data", "../data/**"],
              message:
                "Domain code reaches storage only through its ports (domain/ports.ts, or the port interface next to the use case); data/ implements them.",
            },
            {
              group: ["../events", "../events/**", "../workers", "../workers/**"],
              message: "Subscriptions and workers call the domain, never the other way.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["services/*/src/http/**"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            ...DATABASE_PACKAGES,
            {
              group: ["../data", "../data/**"],
              allowTypeImports: true,
              message:
                "Routes reach storage through use cases or a port they are given; only the types of data/ may be imported.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["services/*/src/data/**"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        { patterns: [{ group: ["../http", "../http/**"], message: "Repositories know no HTTP." }] },
      ],
    },
  },
  {
    files: ["services/*/src/events/**", "services/*/src/workers/**"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["../http", "../http/**"],
              message:
                "Subscriptions and workers share code with routes through domain/ or data/, not http/.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: globals.node },
  },
);
