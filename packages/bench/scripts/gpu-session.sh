#!/usr/bin/env bash
# Every GPU measurement in one call, for a session with a GPU machine (device time is short).
# Here, first (bundles the scripts into .gpu, under the 64 MiB that may travel):
#   bash ../shared/gpu/pack.sh packages/bench/scripts/gpu-measure.ts packages/bench/scripts/gpu-adam.ts \
#     packages/bench/scripts/dispatch-counts.ts packages/bench/scripts/gradient-memory.ts packages/bench/scripts/gpu-forward.ts \
#     packages/bench/scripts/gpu-input-grad.ts packages/bench/src/cli.ts
# (a try on lavapipe leaves Dawn unpacked in .gpu/node_modules/webgpu/dist/linux-x64/dawn.node, 21 MB:
# delete it before carrying; run.sh unpacks it again there), then on the GPU machine (carry ".gpu"),
# from the repository root:
#   bash packages/bench/scripts/gpu-session.sh "$OUT"
# Each step has its own time limit, so one that hangs leaves the others' results; everything goes
# to the folder given (default ./gpu-results): JSON where a script writes it, a log per step.
# GPU_SESSION_SIZE (default 256), GPU_SESSION_RUNS (forward passes per timing, default 30) and
# GPU_SESSION_STEPS (timed Adam steps of the input-gradient comparison, default 5) try it out on
# lavapipe at a small size first (GPU_SESSION_SIZE=32 GPU_SESSION_RUNS=3 GPU_SESSION_STEPS=1; there
# the input-gradient step may reach its time limit after writing its per-shape table);
# GPU_SESSION_ONLY="measure latency" runs only the steps named.
set -u
out="${1:-gpu-results}"
size="${GPU_SESSION_SIZE:-256}"
runs="${GPU_SESSION_RUNS:-30}"
steps="${GPU_SESSION_STEPS:-5}"
mkdir -p "$out"
only="${GPU_SESSION_ONLY:-}" # a space-separated list of step names, to rerun some; default all
step() { # name, seconds, script and arguments
  local name="$1" limit="$2"
  shift 2
  if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then return; fi
  echo "== $name (limit ${limit}s)"
  timeout "$limit" bash .gpu/run.sh "$@" > "$out/$name.log" 2>&1
  echo "   exit $? ($(tail -n 1 "$out/$name.log" | cut -c1-160))"
}
step measure 270 .gpu/gpu-measure.mjs --size "$size" --out "$out/gpu.json"
# The user's command, all five networks (bundled CLI; webgpu measures in the main thread, no worker).
step latency 120 .gpu/cli.mjs latency --backend webgpu --size "$size" --runs "$runs" --out "$out/latency.json"
step forward 60 .gpu/gpu-forward.mjs --size "$size" --runs "$runs" --out "$out/forward.json"
step dispatches 50 .gpu/dispatch-counts.mjs --size "$size"
step adam 60 .gpu/gpu-adam.mjs --out "$out/adam.json"
step input-grad 45 .gpu/gpu-input-grad.mjs --size "$size" --rounds 1 --steps "$steps" --out "$out/input-grad.json"
# Last: the least needed, cut first when the machine's time runs out.
step gradient-memory 90 .gpu/gradient-memory.mjs --backend webgpu --size "$size" --rounds 2 --steps 3
