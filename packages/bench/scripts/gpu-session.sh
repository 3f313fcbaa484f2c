#!/usr/bin/env bash
# Every GPU measurement in one call, for a session with a GPU machine (device time is short).
# Here, first (bundles the scripts into .gpu, under the 64 MiB that may travel):
#   bash ../shared/gpu/pack.sh packages/bench/scripts/gpu-scripts.ts packages/bench/src/cli.ts
# (gpu-scripts.ts: every GPU script in one bundle; one bundle each would not fit)
# (a try on lavapipe leaves Dawn unpacked in .gpu/node_modules/webgpu/dist/linux-x64/dawn.node, 21 MB:
# delete it before carrying; run.sh unpacks it again there), then on the GPU machine (carry ".gpu"),
# from the repository root:
#   bash packages/bench/scripts/gpu-session.sh /tmp/gpu-results "$OUT/gpu-results.tgz"
# Each step has its own time limit, so one that hangs leaves the others' results; everything goes
# to the folder given (default ./gpu-results): JSON where a script writes it, a log per step. With a
# second argument, that folder is also packed into that archive after each step (the device tool
# brings back at most 8 files from $OUT, and only what is there when the call ends).
# GPU_SESSION_SIZE (default 256), GPU_SESSION_RUNS (forward passes per timing, default 30) and
# GPU_SESSION_STEPS (timed Adam steps of the kernel and flag comparisons, default 5) try it out on
# lavapipe at a small size first (GPU_SESSION_SIZE=32 GPU_SESSION_RUNS=3 GPU_SESSION_STEPS=1; there
# the input-gradient step may reach its time limit after writing its per-shape table, and on a slow
# 2-core machine latency too, before SA-U-Net, even at GPU_SESSION_SIZE=16: 2026-12-07);
# GPU_SESSION_ONLY="measure latency" runs only the steps named. By default, in this order, what
# issue 7's note needs first: latency (the user's command: every network's forward pass as built,
# folded and replayed, and its Adam step, also replayed: the targets), measure (our kernels' steps
# and forward passes profiled: the remaining top kernels; stock ones were measured on the H200 on
# 2026-12-04), throughput (the GPU time per forward pass and per Adam step, from replayed calls
# sent back to back: what a replay leaves), replay-step (trainOnBatch against replayTrainStep of
# 2026-12-05, alternating rounds; not yet run on a GPU), conv-scaling (3x3 convolutions at
# 256x256, batch 1 to 4, 1 to 64 input channels, each call read back against calls back to back:
# why the H200's batch-4 256x256 convolutions of 32 input channels ran at a sixth of the rate of
# those of 64; not yet run on a GPU), reductions (the per-channel reductions' 'parallel' thread
# layout of 2026-12-05 against the 'serial' one of 2026-12-04: GPU time per kernel, then
# alternating rounds; not yet run on a GPU), fold (forward passes as built and folded, each also
# replayed, in alternating rounds), cpu-replay and cpu-cost (the same
# replay and bind group comparisons on Dawn's null backend: the CPU's work alone on that machine),
# bind-groups (the bind group cache of 2026-12-05 on and off, alternating rounds; not yet run on a
# GPU), fusions (the fusions of 2026-12-05 each taken away in turn, alternating rounds: batch norm +
# ReLU, the soft-Dice kernels, separable stages in one dispatch in training, sigmoid's gradient; not
# yet run on a GPU), dispatch-cost (the wall ms one dispatch adds to a step, from steps with extra
# ones; not yet run on a GPU), filter-grad and conv-forward (the package's tilings per shape against
# each fixed one, to check tiling-choice.ts on another GPU; conv-forward also times the forward
# product with its reduction split). On the H200 (2026-12-04) measure and latency took 159 s without
# fold (19 s for four networks then). GPU_SESSION_ONLY=all runs every step (the flags and the rest:
# about a minute and 175 s more there). The archive is packed after each step: a call cut short
# brings back what ran before the cut.
set -u
out="${1:-gpu-results}"
archive="${2:-}"
size="${GPU_SESSION_SIZE:-256}"
runs="${GPU_SESSION_RUNS:-30}"
steps="${GPU_SESSION_STEPS:-5}"
mkdir -p "$out"
[ -z "$archive" ] || mkdir -p "$(dirname "$archive")"
only="${GPU_SESSION_ONLY:-latency measure throughput replay-step conv-scaling reductions fold cpu-replay bind-groups cpu-cost fusions dispatch-cost filter-grad conv-forward}" # step names, or all (they run in the order below)
[ "$only" = all ] && only=
step() { # name, seconds, script and arguments
  local name="$1" limit="$2"
  shift 2
  if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then return; fi
  echo "== $name (limit ${limit}s)"
  timeout "$limit" bash .gpu/run.sh "$@" > "$out/$name.log" 2>&1
  echo "   exit $? ($(tail -n 1 "$out/$name.log" | cut -c1-160))"
  if [ -n "$archive" ]; then tar -czf "$archive.part" -C "$out" . && mv "$archive.part" "$archive"; fi
}
# The user's command, all five networks (bundled CLI; webgpu measures in the main thread, no worker),
# inference also folded and replayed, Adam steps also replayed. First: every target in one table (the archive is
# packed after each step, so what ran before a cut comes back).
step latency 150 .gpu/cli.mjs latency --backend webgpu --size "$size" --runs "$runs" --fold-batch-norm --replay --out "$out/latency.json"
# Our kernels' Adam steps and forward passes, with each one's kernels profiled (tf.profile: the GPU time per kernel).
step measure 270 .gpu/gpu-scripts.mjs gpu-measure --size "$size" --no-stock --out "$out/gpu.json"
# GPU time per forward pass and per Adam step from replayed calls sent back to back (one read per burst): the targets without the CPU.
step throughput 120 .gpu/gpu-scripts.mjs replay-throughput --size "$size" --runs "$runs" --steps "$steps" --models unet,unet-plus-plus,attention-unet,multires-unet,sa-unet --out "$out/throughput.json"
# Adam steps through trainOnBatch against the same steps replayed (tfjs-kernels' replayTrainStep, 2026-12-05: not yet run on a GPU), alternating rounds.
step replay-step 150 .gpu/gpu-scripts.mjs replay-step --size "$size" --steps "$steps" --rounds 3 --out "$out/replay-step.json"
# Where a step's 256x256 convolutions lose their time: per-call GPU time with a read-back after each call and back to back, stock and ours.
step conv-scaling 60 .gpu/gpu-scripts.mjs gpu-conv-scaling --size "$size" --runs 10 --out "$out/conv-scaling.json"
# The reductions' thread layouts (tfjs-kernels' REDUCTION_LAYOUT): GPU time of batch norm's and channel attention's kernels and the depthwise filter gradient per layout (exact timestamps), then step and forward wall times in alternating rounds.
step reductions 180 .gpu/gpu-scripts.mjs gpu-reductions --size "$size" --runs "$runs" --steps "$steps" --out "$out/reductions.json"
# Forward passes with batch norm folded into the convolutions (unet-zoo's foldBatchNorm) against as built, each also replayed (tfjs-kernels' replayPredict).
step fold 150 .gpu/gpu-scripts.mjs gpu-fold --size "$size" --runs "$runs" --out "$out/fold.json"
# Replayed Adam steps against trainOnBatch on Dawn's null backend: the CPU's work alone on that machine's CPU (32x32: the null device holds 512 MB).
step cpu-replay 60 .gpu/gpu-scripts.mjs replay-step --dawn backend=null --size 32 --steps 10 --rounds 3 --out "$out/cpu-replay.json"
# The bind group cache (tfjs-kernels' cacheBindGroups) on and off, alternating rounds: step and forward ratios per model.
step bind-groups 120 .gpu/gpu-scripts.mjs bind-group-cache --size "$size" --runs "$runs" --steps "$steps" --out "$out/bind-groups.json"
# The same on Dawn's null backend (no shaders): the CPU's work alone on that machine's CPU, to set against the GPU times above.
step cpu-cost 120 .gpu/gpu-scripts.mjs bind-group-cache --dawn backend=null --size 64 --runs "$runs" --steps 8 --rounds 2 --out "$out/cpu-cost.json"
# Each fusion of 2026-12-05 taken away in turn against all of them: step and forward ratios per model.
step fusions 200 .gpu/gpu-scripts.mjs gpu-fusions --size "$size" --runs "$runs" --steps "$steps" --out "$out/fusions.json"
# What one dispatch adds to a training step's wall time: steps with extra tiny dispatches after each batch norm.
step dispatch-cost 150 .gpu/gpu-scripts.mjs gpu-dispatch-cost --size "$size" --steps "$steps" --out "$out/dispatch-cost.json"
# The filter gradients' matrix product: the package's tiling per shape against each fixed tiling.
step filter-grad 180 .gpu/gpu-scripts.mjs gpu-filter-grad --size "$size" --steps "$steps" --out "$out/filter-grad.json"
# The forward convolution: the stock shader against the package's choice and our tiled product with each tiling.
step conv-forward 240 .gpu/gpu-scripts.mjs gpu-conv-forward --size "$size" --latency-runs "$runs" --steps "$steps" --out "$out/conv-forward.json"
# tfjs-backend-webgpu's tuning flags (submit batch size, im2col convolutions) against its defaults
# (on the H200, 2026-12-04, none made both networks' steps faster in both rounds).
step flags 120 .gpu/gpu-scripts.mjs gpu-flags --size "$size" --runs "$runs" --steps "$steps" --out "$out/flags.json"
step forward 60 .gpu/gpu-scripts.mjs gpu-forward --size "$size" --runs "$runs" --out "$out/forward.json"
step dispatches 50 .gpu/gpu-scripts.mjs dispatch-counts --size "$size"
step adam 60 .gpu/gpu-scripts.mjs gpu-adam --out "$out/adam.json"
step input-grad 45 .gpu/gpu-scripts.mjs gpu-input-grad --size "$size" --rounds 1 --steps "$steps" --out "$out/input-grad.json"
# Last: the least needed, cut first when the machine's time runs out.
step gradient-memory 90 .gpu/gpu-scripts.mjs gradient-memory --backend webgpu --size "$size" --rounds 2 --steps 3
