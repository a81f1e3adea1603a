# The production image: `docker build -t fencewire .`, then `docker run fencewire serve`
# (or migrate, simulate, ...; the entrypoint is the CLI). docker-compose.yml builds and runs it.

# Build with the dev dependencies (TypeScript, the map's bundler), then keep only production ones.
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY scripts/build-map.mjs ./scripts/
# Source maps point at src/, which the image does not hold: they go, with the dev dependencies.
RUN npm run build && find dist -name '*.map' -delete && npm prune --omit=dev --no-audit --no-fund

FROM node:20.20-bookworm-slim
ENV NODE_ENV=production HTTP_HOST=0.0.0.0 HTTP_PORT=8080
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# The demo's geofences and recorded drives.
COPY fixtures ./fixtures
USER node
EXPOSE 8080
# Every role serves /api/integration/health: 200 when NATS and the database answer.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.HTTP_PORT}/api/integration/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and gets SIGTERM itself; serve commits its batch and exits within 10 s.
ENTRYPOINT ["node", "bin/fencewire.js"]
CMD ["serve"]
