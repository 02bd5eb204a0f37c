# syntax=docker/dockerfile:1
# Foyer lobby node. Build: docker build -t foyer .
# Run: docker run -p 8080:8080 -v foyer-data:/data foyer
# Runs as the unprivileged user `node`; it writes only to /data (a volume).
# Configuration is by environment variables (docs/configuration.md).

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Dependencies first, for layer caching. No scripts: the root `prepare`
# script runs `tsc -b`, and the sources are not here yet.
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY server/package.json server/
COPY client-sdk/package.json client-sdk/
COPY web/package.json web/
COPY bots/package.json bots/
COPY bench/package.json bench/
COPY tools/lint/package.json tools/lint/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund
# uWebSockets.js ships a native binding for every platform and Node ABI
# (~90 MB); keep only the one this Node on this architecture loads.
RUN keep="uws_$(node -p "process.platform+'_'+process.arch+'_'+process.versions.modules").node" \
 && find node_modules/uWebSockets.js/binaries -name 'uws_*.node' ! -name "$keep" -delete
# Gather what runs into /out: package files, node_modules (workspace links
# are relative symlinks, kept by cp -a) and each workspace's dist, including
# web/dist when there is one.
RUN mkdir /out \
 && cp -a package.json package-lock.json node_modules /out/ \
 && for ws in shared server client-sdk web; do \
      [ -d "$ws/dist" ] || continue; \
      mkdir -p "/out/$ws" && cp -a "$ws/dist" "/out/$ws/"; \
      for f in package.json node_modules; do [ ! -e "$ws/$f" ] || cp -a "$ws/$f" "/out/$ws/"; done; \
    done \
 && test -f /out/server/dist/main.js

FROM node:20-bookworm-slim
# FOYER_DATA_DIR: the embedded database (without DATABASE_URL) and the
# generated token secret (without FOYER_TOKEN_SECRET) live in /data.
ENV NODE_ENV=production PORT=8080 FOYER_DATA_DIR=/data
WORKDIR /app
# Owned by root, read-only to the node user that runs it.
COPY --from=build /out/ ./
# The one folder the node writes, owned by the user that runs it. A volume, so
# accounts and logins outlive the container: docker run -v foyer-data:/data …
RUN mkdir /data && chown node:node /data && chmod 700 /data
VOLUME /data
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# One malloc arena: the node's threads' own arenas kept freed memory apart, about 0.45 KiB per idle session (docs/operations.md).
ENV MALLOC_ARENA_MAX=1
# A young generation of up to 32 MiB per semi-space: half the minor GCs under chat load (docs/operations.md).
CMD ["node", "--max-semi-space-size=32", "server/dist/main.js"]
