# SLO-Scout container image: the CLI is the entry point of every workload in the chart and in knative/:
#   slo-scout serve-function NAME | run-function NAME | run-collector otlp|log | migrate | up
# Build: docker build -t slo-scout/slo-scout:0.1.0 .
# Optional embedding model: copy the directory produced by scripts/fetch-model.sh to /models (SLO_SCOUT_MODEL_DIR).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
ENV NODE_ENV=production SLO_SCOUT_HOST=0.0.0.0 SLO_SCOUT_DATA_DIR=/tmp/slo-scout SLO_SCOUT_MODEL_DIR=/models
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
RUN ln -s /app/bin/slo-scout.js /usr/local/bin/slo-scout && mkdir -p /models
# Pod Security Standards "restricted": a numeric non-root user (the chart sets runAsUser 10001).
USER 10001:10001
EXPOSE 8080 8000 4317 4318 9880
ENTRYPOINT ["slo-scout"]
CMD ["up"]
