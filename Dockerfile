# The gpufleet model router image (constructs/runtime), as the ModelRouter construct deploys it.
#   docker build -t ghcr.io/gpufleet/gpufleet-router:0.1.0 .
#   docker run --rm -p 8000:8000 -v $PWD/router.yaml:/etc/gpufleet-router/router.yaml:ro ghcr.io/gpufleet/gpufleet-router:0.1.0
# The router's config must listen on 0.0.0.0:8000 inside the container (the construct renders that).

# build: compile the runtime (and nothing else) to plain JavaScript
FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY constructs/runtime ./constructs/runtime
RUN npx tsc --outDir /out --rootDir constructs/runtime --module commonjs --moduleResolution node --target ES2022 \
      --strict --esModuleInterop --skipLibCheck --types node constructs/runtime/main.ts

# run: node, the compiled router and its one dependency (yaml, which has none); `--demo` (local Triton stand-ins,
# which need protobufjs) is not part of the image and says so
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out ./
COPY --from=build /src/node_modules/yaml ./node_modules/yaml
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["node", "/app/main.js"]
CMD ["--config", "/etc/gpufleet-router/router.yaml"]
