#!/usr/bin/env bash
# The MedKG test command: venv, Neo4j jars (cached), a throwaway Neo4j on free ports with a temporary
# data directory, ruff, pytest. The server is always stopped, also when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Debian's chromium for the Browser end-to-end test"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; browser tests will be skipped"
fi
export MEDKG_TEST_TMP=$(mktemp -d /tmp/medkg-test.XXXXXX)
export MEDKG_HOME=$MEDKG_TEST_TMP
export NEO4J_PASSWORD=$(.venv/bin/python -c 'import secrets; print("m" + secrets.token_urlsafe(18))')
cleanup() {
  .venv/bin/medkg neo4j stop --home "$MEDKG_TEST_TMP/neo4j" >/dev/null 2>&1 || true
  rm -rf "$MEDKG_TEST_TMP"
}
trap cleanup EXIT
echo "== starting a throwaway Neo4j"
# no on-connect guide for the suite's server (no API serves it); tests/e2e/test_browser_guide.py has its own
MEDKG_BROWSER_GUIDE_URL= .venv/bin/medkg neo4j start --home "$MEDKG_TEST_TMP/neo4j" --bolt-port 0 --http-port 0 --json \
  > "$MEDKG_TEST_TMP/neo4j-status.json"
eval "$(.venv/bin/python - <<'PY'
import json, os
st = json.load(open(os.path.join(os.environ["MEDKG_TEST_TMP"], "neo4j-status.json")))
print(f"export NEO4J_URI={st['bolt_uri']} NEO4J_BOLT_PORT={st['bolt_port']} NEO4J_HTTP_PORT={st['http_port']}")
print(f"export NEO4J_HOME={st['home']}")
PY
)"
echo "   Neo4j at $NEO4J_URI (Browser on port $NEO4J_HTTP_PORT)"
echo "== ruff"
.venv/bin/ruff check .
echo "== pytest"
set +e
.venv/bin/python -m pytest --durations=20 "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi
exit "$rc"
