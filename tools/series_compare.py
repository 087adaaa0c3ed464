"""Side by side, from finished study-level run folders (same data, same seed, so the same folds): study-level CV for every
aggregation on the same OOF slice scores (cv_aggregations.csv), the slice-level CV beside it, the test set, training time.

    .venv/bin/python tools/series_compare.py RUN_DIR [RUN_DIR ...] --out bench_results/series_demo_<date>.csv

Writes the CSV (what 07_pipeline shows) and prints it as Markdown. Each run's folds are checked to be the same."""
import argparse, json, sys
from pathlib import Path
import pandas as pd

def rows(d:Path) -> list[dict]:
    args, cvm = json.loads((d/'run_args.json').read_text()), json.loads((d/'cv_metrics.json').read_text())
    tm = json.loads((d/'test_metrics.json').read_text())
    if cvm.get('level') != 'study': sys.exit(f"{d}: not a study-level run")
    s = cvm.get('slice_level') or {}
    base = dict(run=d.name, context=args.get('context', 0), labels=cvm.get('labels', 'slice'), cv_seconds=round(cvm['seconds']),
                slice_auprc=f"{s['auprc_mean']:.3f} ± {s['auprc_std']:.3f}" if s else '', slice_roc_auc=f"{s['roc_auc_mean']:.3f} ± {s['roc_auc_std']:.3f}" if s else '',
                slice_n_pos=s.get('n_pos'))
    out = []
    extra = d/'cv_aggregations_with_gru.csv'                 # tools/gru_row.py, for a run made before the learned aggregator
    src = extra if extra.exists() else d/'cv_aggregations.csv'
    for a in pd.read_csv(src).to_dict('records'):
        r = dict(base, aggregation=a['aggregation'], studies=a['n_studies'], positive_studies=a['n_pos'],
                 study_auprc=f"{a['auprc_mean']:.3f} ± {a['auprc_std']:.3f}", study_roc_auc=f"{a['roc_auc_mean']:.3f} ± {a['roc_auc_std']:.3f}",
                 pooled_study_auprc=round(a['pooled_auprc'], 3), source=src.name)
        if a['aggregation'] == (args.get('aggregation', 'max') if args.get('aggregation', 'max') == 'max' else f"topk (k={args.get('topk', 3)})"):
            r.update(test=f"ROC-AUC {tm['roc_auc']['value']:.3f}, AUPRC {tm['auprc']['value']:.3f} ({tm['n']} studies, {tm['n_pos']} positive)")
        out.append(r)
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0]); ap.add_argument('runs', nargs='+'); ap.add_argument('--out', required=True)
    a = ap.parse_args(); dirs = [Path(r) for r in a.runs]
    folds = {d.name: pd.read_csv(d/'cv_oof_predictions.csv').set_index('ID').fold.sort_index() for d in dirs}
    ref = next(iter(folds.values()))
    for n, f in folds.items():
        if not f.equals(ref): sys.exit(f"{n}: other folds than {dirs[0].name}; compare runs of the same data and seed")
    t = pd.DataFrame([r for d in dirs for r in rows(d)]).fillna('')
    t.to_csv(a.out, index=False); print(t.drop(columns="run").to_string(index=False))

if __name__ == '__main__': main()
