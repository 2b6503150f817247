# closeloop in a container (docs/deploy.md). Not built in CI: the machines that run closeloop's tests
# have no container daemon; test/package/deploy.test.ts checks what can be checked without one.
#   docker build -t closeloop .
#   docker run -d -p 8787:8787 -v closeloop-data:/data --env-file closeloop.env closeloop

# Build: all dependencies (TypeScript, esbuild), then `npm pack`, whose prepack compiles dist/.
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY patches ./patches
COPY web-snippet ./web-snippet
RUN npm ci --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY connectors ./connectors
COPY scripts ./scripts
COPY tsconfig.json tsconfig.build.json README.md ./
COPY docs ./docs
RUN npm pack --pack-destination /tmp/pack \
 && mkdir /opt/closeloop \
 && cd /opt/closeloop \
 && npm install --omit=dev --no-audit --no-fund /tmp/pack/closeloop-*.tgz

# Run: Node, the packed build and its production dependencies only, as a user without privileges.
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    CLOSELOOP_DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8787 \
    PATH=/opt/closeloop/node_modules/.bin:$PATH
COPY --from=build /opt/closeloop /opt/closeloop
RUN groupadd --system --gid 10001 closeloop \
 && useradd --system --uid 10001 --gid closeloop --home-dir /data --shell /usr/sbin/nologin closeloop \
 && mkdir /data && chown closeloop:closeloop /data && chmod 0700 /data
USER closeloop
WORKDIR /data
VOLUME /data
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8787) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# closeloop serve ends cleanly on SIGTERM (docker stop).
CMD ["closeloop", "serve"]
