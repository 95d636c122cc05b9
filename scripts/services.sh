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
