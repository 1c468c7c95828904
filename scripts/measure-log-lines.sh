#!/usr/bin/env bash
# usage: measure.sh <worktree> <label> "<provider> <fault-json>[; <provider> <fault-json>...]" [seconds]
# Starts the gateway on the sandbox (port 4517) with live subscriptions (prices of assets with and
# without a Binance stream, bitcoin chain metrics, 1m signals), waits WARMUP s (8), faults each
# <provider> on every endpoint with its <fault-json> (DROPWS=1: also drops Binance WebSockets), then
# sends one query every 5 s and counts warn/error lines (pino level >= 40) by msg over <seconds>.
set -u
WT=$1; LABEL=$2; FAULT=$3; SECS=${4:-120}; PORT=4517
OUT=${OUT_DIR:-/tmp/marketgraph-log-lines}/$LABEL; mkdir -p $OUT
cd $WT
MARKETGRAPH_PORT=$PORT MARKETGRAPH_LOG_LEVEL=info node --import tsx src/main.ts > $OUT/gw.log 2>&1 &
GW=$!
for i in $(seq 1 50); do grep -q 'sandbox admin' $OUT/gw.log && break; sleep 0.2; done
ADMIN=$(grep -o 'sandbox admin *http://[0-9.:]*' $OUT/gw.log | awk '{print $3}')
G=http://127.0.0.1:$PORT/graphql
sub() { curl -sN -H 'accept: text/event-stream' -H 'content-type: application/json' -d "{\"query\":\"$1\"}" $G > $OUT/sub$2.txt 2>&1 & echo $!; }
S1=$(sub 'subscription { priceUpdated(assetIds: [\"bitcoin\", \"ethereum\", \"dogecoin\", \"tether\", \"usd-coin\"]) { assetId value source } }' 1)
S2=$(sub 'subscription { onChainMetricUpdated(chain: \"bitcoin\") { kind value } }' 2)
S3=$(sub 'subscription { signalChanged(assetIds: [\"bitcoin\", \"ethereum\"], interval: M1) { kind direction } }' 3)
sleep ${WARMUP:-8}
IFS=';' read -ra SPECS <<< "$FAULT"
for spec in "${SPECS[@]}"; do
  spec=$(echo $spec); prov=${spec%% *}; json=${spec#* }
  curl -s -X PUT -d "$json" "$ADMIN/faults/$prov/*" > /dev/null
done
[ -n "${DROPWS:-}" ] && curl -s -X POST $ADMIN/websockets/binance/drop > /dev/null
START=$(wc -l < $OUT/gw.log)
END=$((SECONDS + SECS))
while [ $SECONDS -lt $END ]; do
  curl -s -H 'content-type: application/json' -d '{"query":"{ asset(id: \"bitcoin\") { id price { value } } }"}' $G > /dev/null
  sleep 5
done
kill $S1 $S2 $S3 2>/dev/null
kill $GW; wait $GW 2>/dev/null
tail -n +$((START + 1)) $OUT/gw.log > $OUT/window.log
echo "== $LABEL: fault $FAULT, ${SECS}s window; warn/error lines by msg (per minute)"
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n");
const counts = {}; let total = 0;
for (const l of lines) { try { const j = JSON.parse(l); if (j.level >= 40) { const k = `${j.level===40?"warn":"error"} ${j.msg}`; counts[k]=(counts[k]||0)+1; total++; } } catch {} }
const m = Number(process.argv[2]) / 60;
for (const [k, n] of Object.entries(counts).sort((a,b)=>b[1]-a[1])) console.log(String((n/m).toFixed(1)).padStart(7), " ", k);
console.log(String((total/m).toFixed(1)).padStart(7), "   TOTAL per minute (", total, "lines )");
' $OUT/window.log $SECS
