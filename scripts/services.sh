#!/usr/bin/env bash
# Sourced by scripts/run.sh and scripts/e2e.sh: stops the services they started, each in its own process group
# (setsid), so stopping one also stops the process `dotnet run` starts. The caller keeps their group ids in `pids`.

# shellcheck disable=SC2317 # invoked from the callers' EXIT traps
stop_process_groups() {
  local pid i alive
  for pid in "${pids[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for ((i = 0; i < 20; i++)); do
    alive=0
    for pid in "${pids[@]}"; do
      if kill -0 -- "-$pid" 2>/dev/null; then
        alive=1
      fi
    done
    if [[ $alive == 0 ]]; then
      break
    fi
    sleep 0.5
  done
  for pid in "${pids[@]}"; do
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  pids=()
}

# Waits until <url>/health/ready answers 200. Fails (after printing why and the tail of each log) when one of the
# given processes exits first or the timeout passes.
# Usage: wait_until_ready <url> <timeout seconds> <log file>... -- <pid>...
wait_until_ready() {
  local url=$1 timeout=$2 logs_to_show=() watched=() pid log
  shift 2
  while [[ $# -gt 0 && $1 != -- ]]; do
    logs_to_show+=("$1")
    shift
  done
  shift
  watched=("$@")
  local deadline=$((SECONDS + timeout)) reason=
  echo "Waiting for $url/health/ready ..."
  until [[ $(curl -s -o /dev/null -w '%{http_code}' "$url/health/ready" || true) == 200 ]]; do
    for pid in "${watched[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        reason="A service exited during startup."
      fi
    done
    if [[ -z $reason ]] && ((SECONDS >= deadline)); then
      reason="The API was not ready within $timeout s."
    fi
    if [[ -n $reason ]]; then
      echo "$reason" >&2
      for log in "${logs_to_show[@]}"; do
        echo "--- tail of $log" >&2
        tail -n 40 "$log" >&2 || true
      done
      return 1
    fi
    sleep 1
  done
}
