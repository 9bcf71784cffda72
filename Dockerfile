# One image per service, all on Node 24 LTS:
#   docker build --build-arg SERVICE=normalizer -t elephant/normalizer .
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step.
FROM node:24-slim
ARG SERVICE
ENV NODE_ENV=production \
    ELEPHANT_SERVICE=${SERVICE}
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
COPY services ./services
COPY infra/local/package.json ./infra/local/package.json
COPY schemas ./schemas
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --workspace services/${SERVICE} \
 && rm -rf /root/.npm
USER node
EXPOSE 8080
CMD ["sh", "-c", "exec node services/${ELEPHANT_SERVICE}/src/main.ts"]
