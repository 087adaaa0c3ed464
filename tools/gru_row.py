"""The learned aggregator's row for a finished study run made before it existed: the same fold models, the same function.

    .venv/bin/python tools/gru_row.py RUN_DIR   -> RUN_DIR/cv_aggregations_with_gru.csv (the run's other rows are checked equal)"""
import sys, json
from pathlib import Path
import pandas as pd
from brainct_nb import pipeline as P
from brainct_nb.steps import fold_aggregators, aggregation_table, item_crops
A = Path(sys.argv[1])
args = json.loads((A/'run_args.json').read_text())
run = P.start_run(demo=args['demo'], seed=args['seed'], out_dir=str(A.parent), k_folds=args['k_folds'])
P.step_validate(run); P.step_features(run); P.step_split(run)
run.dir = A                                                     # its fold weights: A/cv/fold*_model.pt
so = pd.read_csv(A/'cv_oof_slice_predictions.csv', dtype={'ID': str})
tr = run.features.feats.merge(run.split[['ID', 'split']], on='ID').query("ok and split == 'train'").reset_index(drop=True)
g = fold_aggregators(run, so, tr, item_crops(run, tr))
t = aggregation_table(so, run, learned=g)
old = pd.read_csv(A/'cv_aggregations.csv')
assert (t.iloc[:len(old)].round(6).values == old.round(6).values).all(), "the other rows differ from the run's"
t.to_csv(A/'cv_aggregations_with_gru.csv', index=False); print(t.round(3).to_string())
