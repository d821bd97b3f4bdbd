#!/usr/bin/env bash
# The MedKG main job: .venv, Neo4j 5.26 (with Browser), graph build, models, then the API (foreground).
# Steps already done (graph built, models trained) are skipped; MEDKG_REBUILD=1 rebuilds the graph.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
M=.venv/bin/medkg
export MEDKG_HOME=${MEDKG_HOME:-$PWD/.medkg}
ART=${MEDKG_ARTIFACTS:-$PWD/artifacts}

# Neo4j Browser opens the MedKG guide and style from this API on connect
export MEDKG_BROWSER_GUIDE_URL=${MEDKG_BROWSER_GUIDE_URL-http://127.0.0.1:${MEDKG_API_PORT:-8000}}
$M neo4j status --json | grep -q '"running": true' || $M neo4j start
if [ "${MEDKG_REBUILD:-0}" = 1 ] || ! $M kg stats --json | grep -q '"status": "complete"'; then
  echo "== building the knowledge graph from ${MEDKG_DATA_DIR:-../shared/data}"
  $M kg build
fi
echo "== embedding graph nodes (incremental: only new or changed nodes; the treats model reads them)"
$M text embed-graph
# a missing run, or one saved in an older artifact format, is (re)trained
.venv/bin/python -c "from gnn.treats.artifacts import load_run; load_run()" >/dev/null 2>&1 \
  || { echo "== training drug recommendation (treats)"; $M train treats; }
[ -f "$ART/diagnosis/model.pt" ] || { echo "== training diagnosis"; $M diagnose train; }
[ -f "$ART/text/symptom2disease/model.npz" ] || { echo "== training text classifier"; $M text train; }
[ -f "$ART/images/model.pt" ] || { echo "== training image encoder"; $M images train; }
if [ ! -s "$MEDKG_HOME/admin-api-key" ]; then
  $M keys create --name local-admin --role admin --json \
    | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["api_key"])' > "$MEDKG_HOME/admin-api-key"
  chmod 600 "$MEDKG_HOME/admin-api-key"
fi
$M neo4j status
echo "== API on http://127.0.0.1:${MEDKG_API_PORT:-8000} (docs at /docs); admin API key in $MEDKG_HOME/admin-api-key"
echo "   Ctrl-C stops the API; \`$M neo4j stop\` stops Neo4j"
exec $M serve --port "${MEDKG_API_PORT:-8000}"
