#!/usr/bin/env bash
# ST-SepNet's own evidence: its variants against each other and against STID, STGCN and GWNet on NYC-Bike inflow
# and outflow, 12 -> 12 and 48 -> 48, plus the gamma and hyperedge-order sweeps on the full model; at most EPOCHS
# epochs, early stopping after PATIENCE, seeds SEEDS, PARALLEL comparisons at once. Each comparison writes
# results/sepnet_<data>_<horizon>/ (or ..._gamma_/..._order_), resumable: rerun to continue; consoles in
# checkpoints/logs/. Needs the datasets prepared first (README, "Data"):
#   stlora data prepare nyc <NYC-Bike npz> --channel 0   and   ... --channel 1
#
#   GPUS=0 PARALLEL=6 bash scripts/run_sepnet_evidence.sh     # on a GPU machine (after a CUDA setup: README)
#   EPOCHS=1 SEEDS=0 HORIZONS=12 DATASETS=NYC-Bike-inflow OUT=/tmp/check bash scripts/run_sepnet_evidence.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-100}
PATIENCE=${PATIENCE:-5}
SEEDS=${SEEDS:-0,1,2}
PARALLEL=${PARALLEL:-4}
OUT=${OUT:-results}
HORIZONS=${HORIZONS:-12 48}
DATASETS=${DATASETS:-NYC-Bike-inflow NYC-Bike-outflow}
GPU_OPTION=${GPUS:+--gpus $GPUS}
# the full model in the published settings is the reference; then every variant, per-node input, the backbones
MODELS="STSepNet-published,STSepNet-mean,STSepNet-LLM-mean,STSepNet-static-mean,STSepNet-GNN-mean,STSepNet-noLLM"
MODELS="$MODELS,STSepNet,STSepNet-LLM,STID,STGCN,GWNet"
FULL="STSepNet-published"
GAMMA="$FULL,$FULL[gamma=0,gamma_learnable=False],$FULL[gamma=0.5,gamma_learnable=False],$FULL[gamma=1,gamma_learnable=False]"
ORDER="$FULL,$FULL[hyperedge_order=2],$FULL[hyperedge_order=5],$FULL[hyperedge_order=8]"

compare() {  # name, dataset, horizon, models
  # shellcheck disable=SC2086  # GPU_OPTION is empty or two words
  if .venv/bin/stlora compare --dataset "$2" --horizon "$3" --models "$4" --reference "$FULL" --seeds "$SEEDS" \
      --epochs "$EPOCHS" --patience "$PATIENCE" $GPU_OPTION --out "$OUT/$1" > "checkpoints/logs/$1.log" 2>&1; then
    echo "done: $OUT/$1"
  else
    echo "failed: $OUT/$1 (see checkpoints/logs/$1.log)"
  fi
}

mkdir -p checkpoints/logs
for dataset in $DATASETS; do
  slug=$(echo "$dataset" | tr 'A-Z-' 'a-z_')
  for horizon in $HORIZONS; do
    for study in "variants:$MODELS" "gamma:$GAMMA" "order:$ORDER"; do
      while (( $(jobs -rp | wc -l) >= PARALLEL )); do wait -n; done
      name="sepnet_${slug}_${horizon}"; [[ ${study%%:*} == variants ]] || name="${name}_${study%%:*}"
      compare "$name" "$dataset" "$horizon" "${study#*:}" &
    done
  done
done
wait
