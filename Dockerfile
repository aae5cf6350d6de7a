# The DMS as a container, for docker-compose.yml. Data lives in the /app/storage volume.
FROM node:20-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY views ./views
COPY public ./public
ENV HOST=0.0.0.0 PORT=3000 DATA_DIR=/app/storage NODE_ENV=production
EXPOSE 3000
RUN mkdir -p /app/storage && chown node:node /app/storage
USER node
CMD ["npx", "tsx", "src/server.ts"]
