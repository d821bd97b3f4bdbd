#!/usr/bin/env bash
# The MedKG main job: venv, Neo4j (with Browser), graph build, models, then the API in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
M=.venv/bin/medkg
$M neo4j status --json | grep -q '"running": true' || $M neo4j start
$M neo4j status
echo "== API on http://127.0.0.1:${MEDKG_API_PORT:-8000} (docs at /docs); Ctrl-C stops it, \`$M neo4j stop\` stops Neo4j"
exec $M serve --port "${MEDKG_API_PORT:-8000}"
