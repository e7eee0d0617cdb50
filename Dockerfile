# The crawler image: `docker compose up` runs two daemons on the compose file's Postgres.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY crawler ./crawler
COPY storage ./storage
COPY migrations ./migrations
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 crawler
COPY seeds /seeds

USER crawler
WORKDIR /home/crawler
ENTRYPOINT ["cds-crawler"]
CMD ["run"]
