# The crawler image: `docker compose up` runs two daemons and the API on the compose file's
# Postgres.

# The map page's third-party files come from the npm registry at build time only.
FROM node:20-slim AS map-assets
WORKDIR /web
COPY web/package.json web/package-lock.json web/vendor.sh ./
RUN npm ci --no-audit --no-fund && sh vendor.sh /vendor

FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY crawler ./crawler
COPY storage ./storage
COPY migrations ./migrations
COPY --from=map-assets /vendor ./crawler/api/static/vendor
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 crawler
COPY seeds /seeds

USER crawler
WORKDIR /home/crawler
ENTRYPOINT ["cds-crawler"]
CMD ["run"]
