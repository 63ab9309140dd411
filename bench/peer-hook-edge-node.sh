#!/usr/bin/env bash
# Peer "mezu-edge-node" for ../shared/bench/run.sh: bench/peer-hook.sh with the edge as its own
# process (--role control + --role edge), as a server deployment runs it:
#
#   bash ../shared/bench/run.sh ssh mezu=$PWD/bench/peer-hook.sh mezu-edge-node=$PWD/bench/peer-hook-edge-node.sh
MEZU_BENCH_TOPOLOGY=edge-node exec bash "$(dirname "$0")/peer-hook.sh"
