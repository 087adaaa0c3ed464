#!/usr/bin/env bash
# #36 5b: does pretraining on synthetic bleeds in real anatomy help on real bleeds? EfficientNet-Lite0 at 128 px,
# pretrained on `brainct synth --paired` from the 30 real RSNA series (ImageNet start), then KHCT-eq (the 200 real
# kaggle-head-ct slices with the size shortcut removed) cross-validated with --repeats 3: ImageNet-only vs
# synthetic-pretrained as two grid candidates on the same 3 x 5 folds (paired differences in the grid table).
# About an hour on a 2-core CPU. Writes bench_results/real_grid_synthpre_<date>*.csv and the weights' JSON.
# usage: tools/synth_pretrain_eval.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-/tmp/synth_pretrain}; mkdir -p "$W"; B=.venv/bin
D=../shared/data
[ -f "$W/syn/synth.json" ] || $B/brainct synth --src $D/real-head-ct/rsna-series-unlabelled $D/real-head-ct/rsna-series-unlabelled-more \
    --dest "$W/syn" --paired --seed 0 --num-workers 2
[ -f "$W/syn_lite0.pt" ] || $B/brainct pretrain --data "$W/syn" --out "$W/syn_lite0.pt" --arch efficientnet_lite0 \
    --out-size 128 --epochs 2,6 --seed 0 --num-workers 2
[ -d "$W/khct_eq" ] || $B/python tools/kaggle_equalise.py $D/kaggle-head-ct "$W/khct_eq" --side 256
$B/python tools/real_grid.py "$W/khct_eq" synthpre --size 128 --repeats 3 --arch efficientnet_lite0 \
    --grid "[{}, {\"weights\": \"$W/syn_lite0.pt\"}]"
cp "$W/syn_lite0.pt.json" bench_results/synth_pretrain_lite0_$(date +%F).json
