# Sourced by the load scripts: where the CPU went during a phase, so a busy shared machine shows in the results.
# Needs $postmaster (the PostgreSQL postmaster pid) and reads $api_pid and $worker_pid (either may be empty).
#   cpu_begin; ...work...; cpu_report "<label>" [client CPU seconds]
# prints "<label>: <wall> s; cpu% of N cores: api A, worker W, postgres P, client C, other O" where other is everything
# else on the machine.
clk_tck=$(getconf CLK_TCK)
cpu_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# utime+stime of a process ($2 = 1: with its reaped children); 0 when it is not running.
proc_ticks() { [[ -n $1 ]] && awk -v c="${2:-0}" '{ print $14 + $15 + (c ? $16 + $17 : 0) }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Exited backends are in the postmaster's reaped-children time, live ones are added one by one.
pg_ticks() {
  local total child
  total=$(proc_ticks "$postmaster" 1)
  for child in $(pgrep -P "$postmaster"); do total=$((total + $(proc_ticks "$child"))); done
  echo "$total"
}
declare -A cpu_mark
cpu_begin() {
  cpu_mark[t]=$(date +%s.%N) cpu_mark[b]=$(cpu_busy) cpu_mark[a]=$(proc_ticks "${api_pid:-}")
  cpu_mark[w]=$(proc_ticks "${worker_pid:-}") cpu_mark[p]=$(pg_ticks)
}
cpu_report() {
  local t1 b a w p
  t1=$(date +%s.%N) b=$(($(cpu_busy) - cpu_mark[b])) a=$(($(proc_ticks "${api_pid:-}") - cpu_mark[a]))
  w=$(($(proc_ticks "${worker_pid:-}") - cpu_mark[w])) p=$(($(pg_ticks) - cpu_mark[p]))
  ((a >= 0)) || a=0
  ((w >= 0)) || w=0
  awk -v t0="${cpu_mark[t]}" -v t1="$t1" -v n="$(nproc)" -v hz="$clk_tck" -v b="$b" -v a="$a" -v w="$w" -v p="$p" \
    -v c="${2:-0}" -v l="$1" 'BEGIN { all = (t1 - t0) * n * hz; cl = c * hz
      printf "%s: %.1f s; cpu%% of %d cores: api %.0f, worker %.0f, postgres %.0f, client %.0f, other %.0f\n", l, t1 - t0, n,
        100 * a / all, 100 * w / all, 100 * p / all, 100 * cl / all, 100 * (b - a - w - p - cl) / all }'
}
