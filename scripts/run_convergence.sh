#!/usr/bin/env bash
# The comparisons at convergence: every zoo backbone, plain vs + ST-LoRA, on the three real datasets, with the
# published recipes, at most EPOCHS epochs and early stopping after PATIENCE, seeds SEEDS, PARALLEL comparisons at
# once (one GPU holds several of these small models), each trained by WORKERS processes that split its runs (a run is
# claimed by the process training it). Each (dataset, model) writes results/convergence_<data>_<model>/ (resumable:
# rerun the script to continue; finished runs are reused), its console goes to checkpoints/logs/.
# Then the controls (shared core, capacity-matched wider backbone) for CONTROL_MODELS on CONTROL_DATASETS into
# results/convergence_controls_<data>_<model>/; a comparison and its controls copy each other's identical plain and
# ST-LoRA runs (--reuse) instead of training them twice. CONTROL_MODELS=none skips the controls; REPORT_ONLY=1
# rewrites the tables of every folder with runs (after a stopped session), training nothing.
#
#   GPUS=0 PARALLEL=6 bash scripts/run_convergence.sh          # on a GPU machine (after a CUDA setup: README)
#   GPUS=0 PARALLEL=1 WORKERS=6 MODELS=AGCRN DATASETS=LOS-LOOP bash scripts/run_convergence.sh   # its 6 runs at once
#   PARALLEL=1 MODELS="STID LSTM" bash scripts/run_convergence.sh   # on the CPU
#   EPOCHS=1 SEEDS=0 MODELS=STID DATASETS=SYNTH-ROAD OUT=/tmp/check bash scripts/run_convergence.sh   # a quick check
# Processes on one GPU take turns on it: on an H200, 39 at once trained about as many epochs per GPU-second as 6
# (README, "Training on GPUs"), each of them 6 times slower; start as many as you want runs to finish together.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-100}
PATIENCE=${PATIENCE:-5}
SEEDS=${SEEDS:-0,1,2}
PARALLEL=${PARALLEL:-4}
WORKERS=${WORKERS:-1}
STLORA=${STLORA:-.venv/bin/stlora}  # the command, e.g. "python3 -m stlora_plugin.cli" without the venv
OUT=${OUT:-results}
MODELS=${MODELS:-STID LSTM STGCN GWNet AGCRN D2STGNN STAEformer}
DATASETS=${DATASETS:-LOS-LOOP NYC-Bike-inflow NYC-Taxi-inflow-until2020-01-01}
CONTROL_MODELS=${CONTROL_MODELS:-STID LSTM STGCN}
[[ $CONTROL_MODELS == none ]] && CONTROL_MODELS=
CONTROL_DATASETS=${CONTROL_DATASETS:-$DATASETS}
GPU_OPTION=${GPUS:+--gpus $GPUS}
REPORT_OPTION=${REPORT_ONLY:+--report-only}

slug() {  # the results folder name of a dataset, as the committed ones are named
  case "$1" in
    LOS-LOOP) echo los ;;
    NYC-Bike-inflow) echo nyc_bike ;;
    NYC-Taxi-inflow-until2020-01-01) echo nyc_taxi_2019 ;;
    *) echo "$1" | tr 'A-Z-' 'a-z_' ;;
  esac
}

has_runs() {  # a leaderboard keeps its records in FOLDER/runs.jsonl, an ablation in FOLDER/runs/runs.jsonl
  [[ -f "$1/runs.jsonl" || -f "$1/runs/runs.jsonl" ]]
}

reuse_of() {  # --reuse FOLDER when that comparison folder has runs to copy
  if has_runs "$1"; then echo "--reuse $1"; fi
}

run_one() {  # one (dataset, model) comparison (study: leaderboard or ablate), its console in checkpoints/logs/
  local study=$1 data_model="$(slug "$2")_$(echo "$3" | tr 'A-Z' 'a-z')" name
  local board="$OUT/convergence_$data_model" controls="$OUT/convergence_controls_$data_model" options
  if [[ $study == leaderboard ]]; then
    name=$board options=$(reuse_of "$controls")
  else
    name=$controls options="--arms stlora,shared_core,wide_backbone $(reuse_of "$board")"
  fi
  if [[ -n $REPORT_OPTION ]]; then
    has_runs "$name" || return 0  # no runs to report
    options="$options $REPORT_OPTION" WORKERS=1
  fi
  local log="checkpoints/logs/${name##*/}" worker failed=0
  for (( worker = 1; worker <= WORKERS; worker++ )); do  # logs: <name>.log, <name>.2.log, ...
    # shellcheck disable=SC2086  # STLORA, GPU_OPTION and options are words
    $STLORA "$study" --datasets "$2" --models "$3" --seeds "$SEEDS" --epochs "$EPOCHS" --patience "$PATIENCE" \
      $GPU_OPTION $options --out "$name" > "$log$( (( worker > 1 )) && echo ".$worker").log" 2>&1 &
  done
  for (( worker = 1; worker <= WORKERS; worker++ )); do wait -n || failed=1; done
  if (( failed )); then echo "failed: $name (see $log*.log)"; else echo "done: $name"; fi
}

mkdir -p checkpoints/logs
for dataset in $DATASETS; do
  for model in $MODELS; do
    while (( $(jobs -rp | wc -l) >= PARALLEL )); do wait -n; done
    run_one leaderboard "$dataset" "$model" &
  done
done
wait
for dataset in $CONTROL_DATASETS; do
  for model in $CONTROL_MODELS; do
    while (( $(jobs -rp | wc -l) >= PARALLEL )); do wait -n; done
    run_one ablate "$dataset" "$model" &
  done
done
wait
