#!/usr/bin/env bash
# Read-path A/B: two benchmark hosts (two builds of the product, e.g. before and after a change) on one machine at
# the same time, measured alternately in one run, so the machine's other load hits both alike.
#
#   A_URL=http://127.0.0.1:5190 A_PID=<pid> B_URL=http://127.0.0.1:5191 B_PID=<pid> TOKEN=<bearer> tests/load/read-ab.sh
#
# Each host is a `CleanCrm.Benchmarks serve-api` on the same catalog and tenants, started as tests/load/crm-benchmark.sh
# does (BENCH_HOLD=1 keeps one up and writes its url, pid and token to hold.env). Both must accept TOKEN: give them the
# same signing key directory and the same CleanCrm__Identity__Issuer. Per round (order swapped every round) it runs the
# full stack and the bare endpoint on each host and prints req/s and the host's CPU time per request; at the end the
# median full/bare ratio of each host and the median of the per-round ratio B-full / A-full.
#
# Settings: ROUNDS=8 DURATION=5s WARMUP=20s CONNECTIONS=32 THREADS=2 DEALS=50 SLUG=bench-0001 (a host started just
# before needs the warm-up: until tiered compilation has settled it costs 10-15 % more)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rounds=${ROUNDS:-8}
duration=${DURATION:-5s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
: "${A_URL:?}" "${A_PID:?}" "${B_URL:?}" "${B_PID:?}" "${TOKEN:?}"
hz=$(getconf CLK_TCK)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
median() { sort -n | awk '{ a[NR] = $1 } END { printf "%s (min %s, max %s)", a[int((NR + 1) / 2)], a[1], a[NR] }'; }

# run <host A|B> <mode full|bare>: one wrk run; appends req/s and CPU us/request to $work/<host>-<mode>.*
run() {
  local url pid before after result rps cpu
  if [[ $1 == A ]]; then url=$A_URL pid=$A_PID; else url=$B_URL pid=$B_PID; fi
  before=$(ticks "$pid")
  result=$(MODE=$2 TOKEN=$TOKEN DEALS=${DEALS:-50} SLUG=${SLUG:-bench-0001} \
    wrk -t"$threads" -c"$connections" -d"$duration" -s "$repo/tests/load/crm-read.lua" "$url" | grep '^RESULT')
  after=$(ticks "$pid")
  [[ $(field "$result" non200) == 0 ]] || { echo "host $1 $2: non-200 answers: $result" >&2; exit 1; }
  rps=$(field "$result" rps)
  cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$(field "$result" requests)" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
  echo "$rps" >>"$work/$1-$2.rps"
  echo "$cpu" >>"$work/$1-$2.cpu"
  printf '  round %d host %s %-4s %8s req/s  host CPU %6s us/request\n' "$round" "$1" "$2" "$rps" "$cpu"
}

echo "read-path A/B, $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "A=$A_URL B=$B_URL; wrk -t$threads -c$connections -d$duration per run, $rounds rounds"
for mode in full bare; do
  for host in A B; do
    MODE=$mode TOKEN=$TOKEN DEALS=${DEALS:-50} wrk -t"$threads" -c"$connections" -d"${WARMUP:-20s}" -s "$repo/tests/load/crm-read.lua" \
      "$([[ $host == A ]] && echo "$A_URL" || echo "$B_URL")" >/dev/null
  done
done
for round in $(seq 1 "$rounds"); do
  order="A:full B:full A:bare B:bare"
  ((round % 2 == 0)) && order="B:bare A:bare B:full A:full"
  for step in $order; do
    run "${step%%:*}" "${step##*:}"
  done
  tail -n 1 "$work/A-full.rps" | paste - <(tail -n 1 "$work/A-bare.rps") <(tail -n 1 "$work/B-full.rps") <(tail -n 1 "$work/B-bare.rps") |
    awk -v r="$round" '{ printf "  round %d: A full/bare %.1f%%, B full/bare %.1f%%, B full / A full %.1f%%\n",
      r, 100 * $1 / $2, 100 * $3 / $4, 100 * $3 / $1 }' |
    tee -a "$work/rounds.txt"
done
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median A full/bare: $(sed -n 's/.*A full\/bare \([0-9.]*\)%.*/\1/p' "$work/rounds.txt" | median) %"
echo "median B full/bare: $(sed -n 's/.*B full\/bare \([0-9.]*\)%.*/\1/p' "$work/rounds.txt" | median) %"
echo "median B full / A full: $(sed -n 's/.*B full \/ A full \([0-9.]*\)%.*/\1/p' "$work/rounds.txt" | median) %"
for key in A-full B-full A-bare B-bare; do
  echo "median host CPU per request, $key: $(median <"$work/$key.cpu") us"
done
