#!/usr/bin/env bash
# The comparisons at convergence: every zoo backbone, plain vs + ST-LoRA, on the three real datasets, with the
# published recipes, at most EPOCHS epochs and early stopping after PATIENCE, seeds SEEDS, PARALLEL comparisons at
# once (one GPU holds several of these small models). Each (dataset, model) writes results/convergence_<data>_<model>/
# (resumable: rerun the script to continue; finished runs are reused), its console goes to checkpoints/logs/.
#
#   GPUS=0 PARALLEL=6 bash scripts/run_convergence.sh          # on a GPU machine (after a CUDA setup: README)
#   PARALLEL=1 MODELS="STID LSTM" bash scripts/run_convergence.sh   # on the CPU
#   EPOCHS=1 SEEDS=0 MODELS=STID DATASETS=SYNTH-ROAD OUT=/tmp/check bash scripts/run_convergence.sh   # a quick check
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-100}
PATIENCE=${PATIENCE:-5}
SEEDS=${SEEDS:-0,1,2}
PARALLEL=${PARALLEL:-4}
OUT=${OUT:-results}
MODELS=${MODELS:-STID LSTM STGCN GWNet AGCRN D2STGNN STAEformer}
DATASETS=${DATASETS:-LOS-LOOP NYC-Bike-inflow NYC-Taxi-inflow-until2020-01-01}
GPU_OPTION=${GPUS:+--gpus $GPUS}

slug() {  # the results folder name of a dataset, as the committed ones are named
  case "$1" in
    LOS-LOOP) echo los ;;
    NYC-Bike-inflow) echo nyc_bike ;;
    NYC-Taxi-inflow-until2020-01-01) echo nyc_taxi_2019 ;;
    *) echo "$1" | tr 'A-Z-' 'a-z_' ;;
  esac
}

run_one() {  # one (dataset, model) comparison, its console in checkpoints/logs/
  local name="convergence_$(slug "$1")_$(echo "$2" | tr 'A-Z' 'a-z')"
  # shellcheck disable=SC2086  # GPU_OPTION is empty or two words
  if .venv/bin/stlora leaderboard --datasets "$1" --models "$2" --seeds "$SEEDS" --epochs "$EPOCHS" \
      --patience "$PATIENCE" $GPU_OPTION --out "$OUT/$name" > "checkpoints/logs/$name.log" 2>&1; then
    echo "done: $OUT/$name"
  else
    echo "failed: $OUT/$name (see checkpoints/logs/$name.log)"
  fi
}

mkdir -p checkpoints/logs
for dataset in $DATASETS; do
  for model in $MODELS; do
    while (( $(jobs -rp | wc -l) >= PARALLEL )); do wait -n; done
    run_one "$dataset" "$model" &
  done
done
wait
