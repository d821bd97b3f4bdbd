#!/usr/bin/env bash
# The MedKG main job: .venv, Neo4j 5.26 (with Browser), graph build, models, then the API (foreground).
# Steps already done (graph built, models trained) are skipped; MEDKG_REBUILD=1 rebuilds the graph.
# `run.sh --prepare`: the same job without the parts a container has already or does elsewhere (no .venv
# bootstrap, no local Neo4j: NEO4J_URI names one; no API: it exits once the graph, embeddings, models and admin
# key are there). docker-compose.yml's one-shot `prepare` service runs it; its image has .venv in /app.
set -euo pipefail
cd "$(dirname "$0")/.."
PREPARE=0
case "${1:-}" in
  --prepare) PREPARE=1 ;;
  "") ;;
  *) echo "usage: bash scripts/run.sh [--prepare]" >&2; exit 2 ;;
esac
[ $PREPARE = 1 ] || bash scripts/bootstrap.sh
M=.venv/bin/medkg
export MEDKG_HOME=${MEDKG_HOME:-$PWD/.medkg}
ART=${MEDKG_ARTIFACTS:-$PWD/artifacts}

# Neo4j Browser opens the MedKG guide and style from this API on connect
export MEDKG_BROWSER_GUIDE_URL=${MEDKG_BROWSER_GUIDE_URL-http://127.0.0.1:${MEDKG_API_PORT:-8000}}
[ $PREPARE = 1 ] || $M neo4j status --json | grep -q '"running": true' || $M neo4j start
if [ "${MEDKG_REBUILD:-0}" = 1 ] || ! $M kg stats --json | grep -q '"status": "complete"'; then
  echo "== building the knowledge graph from ${MEDKG_DATA_DIR:-../shared/data}"
  $M kg build
fi
echo "== embedding graph nodes (incremental: only new or changed nodes; the treats model reads them)"
$M text embed-graph
# every model family: a missing run, or one saved in an older artifact format, is (re)trained (the store answers)
has_run() { .venv/bin/python -c "import sys; from gnn.pipeline.registry import get_family as g; g(sys.argv[1]).store().manifest()" "$1" >/dev/null 2>&1; }
for model in treats diagnosis text images ddi side-effects qa; do
  has_run "$model" || { echo "== training $model"; $M train "$model"; }
done
if [ ! -s "$MEDKG_HOME/admin-api-key" ]; then
  $M keys create --name local-admin --role admin --json \
    | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["api_key"])' > "$MEDKG_HOME/admin-api-key"
  chmod 600 "$MEDKG_HOME/admin-api-key"
fi
if [ $PREPARE = 1 ]; then echo "== prepared: graph, node embeddings, models, admin API key"; exit 0; fi
$M neo4j status
echo "== API on http://127.0.0.1:${MEDKG_API_PORT:-8000} (docs at /docs); admin API key in $MEDKG_HOME/admin-api-key"
echo "   Ctrl-C stops the API; \`$M neo4j stop\` stops Neo4j"
exec $M serve --port "${MEDKG_API_PORT:-8000}"
