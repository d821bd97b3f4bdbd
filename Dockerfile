# MedKG image: docker-compose.yml runs it as `prepare` (scripts/run.sh --prepare: graph build, node embeddings,
# models, admin key; the same steps as scripts/run.sh) and as `api`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin medkg
WORKDIR /app

# The code finds ontologies/schema.yaml next to its packages, so the project stays in /app (editable install),
# in /app/.venv as scripts/run.sh expects. torch==2.13.0 is pinned in pyproject.toml; pip installs exactly that.
ENV PATH=/app/.venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY kg ./kg
COPY gnn ./gnn
COPY api ./api
COPY ontologies ./ontologies
COPY browser ./browser
COPY scripts ./scripts
RUN python -m venv /app/.venv \
    && /app/.venv/bin/pip install -e . \
    && /app/.venv/bin/python -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '2.13.0' else 'torch pin broken')" \
    && mkdir -p /app/artifacts /app/.medkg \
    && chown -R medkg:medkg /app/artifacts /app/.medkg

USER medkg
EXPOSE 8000
CMD ["medkg", "serve", "--host", "0.0.0.0", "--port", "8000"]
