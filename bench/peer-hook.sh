#!/usr/bin/env bash
# Peer "mezu" for ../shared/bench/run.sh (see the PEER HOOK CONTRACT at the top of that script):
#
#   npm run build && bash ../shared/bench/run.sh direct ssh node-proxy2 mezu=$PWD/bench/peer-hook.sh
#
# Starts the platform (control plane + edge) and one Warpgate publishing the origin on a public
# route, each in the background with its output in $PEER_DIR, pids appended to $PEER_DIR/pids.
# Prints `HEADER Host: <route host>` (the edge routes by Host) and, last, the edge's URL.
# Ports: edge PEER_PORT, tunnel PEER_PORT+1, API PEER_PORT+2.
# MEZU_BENCH_TOPOLOGY=edge-node runs the edge as its own process, as a server deployment would: the
# platform with --role control (API only) plus `platform start --role edge` joined with a token from
# `mezu edges create`; the Warpgate connects to that edge. Its pids: control, edge, Warpgate.
set -euo pipefail
: "${ORIGIN_PORT:?}" "${PEER_PORT:?}" "${PEER_DIR:?}" "${BENCH_DIR:?}"

REPO="$(cd "$(dirname "$0")/.." && pwd)"
MEZU="$REPO/bin/run.js"
mezu() { node "$MEZU" "$@" >>"$PEER_DIR/setup.log" 2>&1; }
trap 'tail -5 "$PEER_DIR/setup.log" >&2 2>/dev/null' ERR
EDGE_PORT=$PEER_PORT
TUNNEL_PORT=$((PEER_PORT + 1))
API_PORT=$((PEER_PORT + 2))
ROUTE_HOST=bench.mezu.localhost
ADMIN_EMAIL=bench@example.test
ADMIN_PASSWORD="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export MEZU_DATA_DIR="$PEER_DIR/data" MEZU_CONFIG_DIR="$PEER_DIR/config"
unset MEZU_TOKEN MEZU_API_URL MEZU_CA_FILE MEZU_PROJECT MEZU_ENV MEZU_WARPGATE_TOKEN

# 1. The platform, in the background; it initialises the empty data directory with this owner.
#    node is started directly (no wrapper shell) so the pid in $PEER_DIR/pids is the platform's.
TOPOLOGY="${MEZU_BENCH_TOPOLOGY:-all}"
case "$TOPOLOGY" in
  all) ROLE_ARGS=(--edge-port "$EDGE_PORT" --tunnel-port "$TUNNEL_PORT") ;;
  edge-node) ROLE_ARGS=(--role control) ;;
  *) echo "MEZU_BENCH_TOPOLOGY is all or edge-node, not $TOPOLOGY" >&2; exit 2 ;;
esac
node "$MEZU" platform start --api-port "$API_PORT" "${ROLE_ARGS[@]}" \
  --admin-email "$ADMIN_EMAIL" --admin-password-stdin --log-level warn --json \
  >"$PEER_DIR/platform.out" 2>"$PEER_DIR/platform.log" <<<"$ADMIN_PASSWORD" &
PLATFORM_PID=$!
echo $PLATFORM_PID >> "$PEER_DIR/pids"
# --json prints one line once every listener is up.
for _ in $(seq 300); do  # up to 30 s
  grep -q '"apiUrl"' "$PEER_DIR/platform.out" 2>/dev/null && break
  kill -0 $PLATFORM_PID 2>/dev/null || { echo "the platform exited: $(tail -5 "$PEER_DIR/platform.log")" >&2; exit 1; }
  sleep 0.1
done
grep -q '"apiUrl"' "$PEER_DIR/platform.out" || { echo "the platform did not come up in 30 s" >&2; exit 1; }
API_URL="https://127.0.0.1:$API_PORT"
CA_FILE="$MEZU_DATA_DIR/ca.pem"

# 2. Log in; a project, an environment, a public policy and the route. The route is created here
#    because `mezu tunnel --route` cannot attach a policy (it reuses an existing route). Its rate
#    limit is the most the API allows: the default (6000/min per client IP) would throttle wrk.
mezu login --api-url "$API_URL" --ca-file "$CA_FILE" --email "$ADMIN_EMAIL" --password-stdin <<<"$ADMIN_PASSWORD"
mezu projects create bench
mezu envs create prod --project bench
mezu use bench/prod
mezu policies create open --public
mezu routes create --hostname "$ROUTE_HOST" --service bench --policy open --rate-limit 1000000

# 2b. The edge node, when the edge runs on its own: enrolled with a one-time join token.
if [ "$TOPOLOGY" = edge-node ]; then
  JOIN_TOKEN="$(node "$MEZU" edges create --name bench-edge --json | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).joinToken)')"
  node "$MEZU" platform start --role edge --data-dir "$PEER_DIR/edge" --control-url "$API_URL" --join-token "$JOIN_TOKEN" \
    --edge-port "$EDGE_PORT" --tunnel-port "$TUNNEL_PORT" --log-level warn --json \
    >"$PEER_DIR/edge.out" 2>"$PEER_DIR/edge.log" </dev/null &
  EDGE_PID=$!
  echo $EDGE_PID >> "$PEER_DIR/pids"
  for _ in $(seq 300); do
    grep -q '"edgeId"' "$PEER_DIR/edge.out" 2>/dev/null && break
    kill -0 $EDGE_PID 2>/dev/null || { echo "the edge node exited: $(tail -5 "$PEER_DIR/edge.log")" >&2; exit 1; }
    sleep 0.1
  done
  grep -q '"edgeId"' "$PEER_DIR/edge.out" || { echo "the edge node did not come up in 30 s" >&2; exit 1; }
fi

# 3. The Warpgate, in the background; --quiet: no line per request. run.sh polls until it serves.
#    By default the lean server runtime (mezu-warpgate, with a token from `mezu warpgates create`),
#    as a server would run it; MEZU_BENCH_RUNTIME=tunnel measures `mezu tunnel` (the CLI) instead.
RUNTIME="${MEZU_BENCH_RUNTIME:-warpgate}"
if [ "$RUNTIME" = tunnel ]; then
  node "$MEZU" tunnel "http://127.0.0.1:$ORIGIN_PORT" --name bench --route "$ROUTE_HOST" --quiet --json --grace 1s \
    >"$PEER_DIR/tunnel.log" 2>&1 </dev/null &
else
  WG_TOKEN="$(node "$MEZU" warpgates create --name bench --json | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).token)')"
  MEZU_WARPGATE_TOKEN="$WG_TOKEN" MEZU_API_URL="$API_URL" MEZU_CA_FILE="$CA_FILE" \
    node "$REPO/bin/warpgate.js" "http://127.0.0.1:$ORIGIN_PORT" --quiet --json --grace 1s \
    >"$PEER_DIR/tunnel.log" 2>&1 </dev/null &
fi
echo $! >> "$PEER_DIR/pids"

echo "mezu $(node -p "require('$REPO/package.json').version") ($([ "$RUNTIME" = tunnel ] && echo "mezu tunnel" || echo "mezu-warpgate")), node $(node --version), edge TLS 1.3 (run.sh does not verify), Warpgate mTLS framed tunnel (mezu-tunnel protocol 2), 2 tunnel connections$([ "$TOPOLOGY" = edge-node ] && echo ", edge as its own process (--role control + --role edge)")" > "$PEER_DIR/note"
echo "HEADER Host: $ROUTE_HOST"
echo "https://127.0.0.1:${EDGE_PORT}"
