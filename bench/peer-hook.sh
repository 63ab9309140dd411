#!/usr/bin/env bash
# Peer "mezu" for ../shared/bench/run.sh (see the PEER HOOK CONTRACT at the top of that script):
#
#   npm run build && BENCH_EXTRA_PEERS="mezu=$PWD/bench/peer-hook.sh" bash ../shared/bench/run.sh direct ssh node-proxy2
#
# Starts the platform (control plane + edge) and one Warpgate publishing the origin on a public
# route, each in the background with its output in $PEER_DIR, pids appended to $PEER_DIR/pids.
# Prints `HEADER Host: <route host>` (the edge routes by Host) and, last, the edge's URL.
# Ports: edge PEER_PORT, tunnel PEER_PORT+1, API PEER_PORT+2.
set -euo pipefail
: "${ORIGIN_PORT:?}" "${PEER_PORT:?}" "${PEER_DIR:?}" "${BENCH_DIR:?}"

REPO="$(cd "$(dirname "$0")/.." && pwd)"
mezu() { node "$REPO/bin/run.js" "$@"; }
EDGE_PORT=$PEER_PORT
TUNNEL_PORT=$((PEER_PORT + 1))
API_PORT=$((PEER_PORT + 2))
ROUTE_HOST=bench.mezu.localhost
ADMIN_EMAIL=bench@example.test
ADMIN_PASSWORD="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export MEZU_DATA_DIR="$PEER_DIR/data" MEZU_CONFIG_DIR="$PEER_DIR/config"
unset MEZU_TOKEN MEZU_API_URL MEZU_CA_FILE MEZU_PROJECT MEZU_ENV

# 1. The platform, in the background.
printf '%s' "$ADMIN_PASSWORD" | mezu platform init --admin-email "$ADMIN_EMAIL" --admin-password-stdin >"$PEER_DIR/init.log" 2>&1
mezu platform start --api-port "$API_PORT" --edge-port "$EDGE_PORT" --tunnel-port "$TUNNEL_PORT" --log-level warn \
  >"$PEER_DIR/platform.log" 2>&1 </dev/null &
echo $! >> "$PEER_DIR/pids"
API_URL="https://127.0.0.1:$API_PORT"
CA_FILE="$MEZU_DATA_DIR/ca.pem"
for _ in $(seq 1 150); do  # up to 15 s
  [ -f "$CA_FILE" ] && curl -sf --cacert "$CA_FILE" "$API_URL/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

# 2. Log in, and a project, environment and public route for the origin.
printf '%s' "$ADMIN_PASSWORD" | mezu login --api-url "$API_URL" --ca-file "$CA_FILE" --email "$ADMIN_EMAIL" --password-stdin >"$PEER_DIR/setup.log" 2>&1
mezu projects create bench >>"$PEER_DIR/setup.log" 2>&1
mezu envs create prod --project bench >>"$PEER_DIR/setup.log" 2>&1
mezu use bench/prod >>"$PEER_DIR/setup.log" 2>&1
# LEAD: the route must be public (no login) so the benchmark measures the data plane. Once the
# routes/policies commands are merged, something like:
#   mezu policies create open --public >>"$PEER_DIR/setup.log" 2>&1
#   (and `mezu tunnel … --route` below given --policy open, or `mezu routes create` beforehand)

# 3. The Warpgate, in the background. LEAD: fill in the exact flags once `mezu tunnel` is merged.
mezu tunnel "http://127.0.0.1:$ORIGIN_PORT" --name bench --route "$ROUTE_HOST" --json \
  >"$PEER_DIR/tunnel.log" 2>&1 </dev/null &
echo $! >> "$PEER_DIR/pids"

echo "mezu $(node -p "require('$REPO/package.json').version"), node $(node --version), edge TLS 1.3 (run.sh does not verify), Warpgate mTLS reverse HTTP/2, 2 tunnel connections" > "$PEER_DIR/note"
echo "HEADER Host: $ROUTE_HOST"
echo "https://127.0.0.1:${EDGE_PORT}"
