"""The real-anatomy study benchmark (#36): the protocol on a synthetic-on-real dataset (`brainct synth`), slice context
0 vs 1 vs 2, and for each the study aggregations max / top-k / gru on the same out-of-fold slice scores. The folds are
the same for every context (same seed, same data), grouped by PatientID, which `brainct synth` sets once per
background head: a head never sits on both sides. Then the context-0 final model, trained on synthetic bleeds only,
scores real bleeds zero-shot (kaggle-head-ct, equalised: `tools/kaggle_equalise.py`), with a bootstrap CI.

    .venv/bin/python tools/synth_benchmark.py SYNTH_DATA OUT_DIR [--khct-eq DIR] [--contexts 0,1,2] [--out-size 96]

Writes bench_results/synth_benchmark_<date>.csv (one row per context x aggregation), ..._zeroshot.json, and prints
them. Figures are development figures (synthetic lesions); claims about accuracy rest on real bleeds only.
"""
import argparse, json, time
from datetime import date
from pathlib import Path
import numpy as np, pandas as pd
from sklearn.metrics import roc_auc_score, average_precision_score

ROOT = Path(__file__).resolve().parents[1]

def one_context(data, out, ctx, a):
    from brainct_nb.pipeline import run_all
    t0 = time.time()
    run = run_all(data_root=str(data), seed=a.seed, k_folds=a.k_folds, out_size=a.out_size, arch=a.arch,
                  context=ctx, aggregation='max', out_dir=str(out/f'ctx{ctx}'), num_workers=2,
                  config_json=json.dumps(dict(epochs_head=a.epochs_head, epochs_ft=a.epochs_ft)))
    cvm = json.loads((run.dir/'cv_metrics.json').read_text())
    agg = pd.read_csv(run.dir/'cv_aggregations.csv')
    tm = json.loads((run.dir/'test_metrics.json').read_text())
    rows = []
    for r in agg.itertuples():
        rows.append(dict(context=ctx, aggregation=r.aggregation, study_roc_auc_mean=r.roc_auc_mean,
                         study_roc_auc_std=r.roc_auc_std, study_auprc_mean=r.auprc_mean, study_auprc_std=r.auprc_std,
                         slice_roc_auc_mean=cvm['slice_level']['roc_auc_mean'],
                         slice_auprc_mean=cvm['slice_level']['auprc_mean'],
                         n_studies=cvm['n_studies'], n_pos_studies=cvm['n_pos_studies'],
                         test_study_roc_auc=tm['roc_auc']['value'] if r.aggregation == 'max' else np.nan,
                         seconds=round(time.time() - t0), run=run.dir.name))
    return rows, run

def zero_shot(run, khct, seed=0):
    "The final model's slice scores on every kaggle-head-ct image: ROC-AUC, AUPRC with a bootstrap 95% CI."
    from brainct_nb.final import bootstrap_ci
    from brainct_nb.predict import predict_dicoms
    lab = pd.read_csv(khct/'labels1.csv', dtype={'ID': str})
    df = predict_dicoms(run.dir, [khct/'CTs'/f'{i}.dcm' for i in lab.ID], allow_weak=True)
    p = df.set_index(df.file.map(lambda f: Path(f).stem)).loc[lab.ID]
    ok = p.probability.notna().values
    y, s = lab.Label.values[ok], p.probability.values[ok]
    out = dict(n=int(ok.sum()), n_pos=int(y.sum()), roc_auc=float(roc_auc_score(y, s)),
               auprc=float(average_precision_score(y, s)))
    out['roc_auc_ci'] = bootstrap_ci(y, s, roc_auc_score, seed=seed)
    out['auprc_ci'] = bootstrap_ci(y, s, average_precision_score, seed=seed)
    return out

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('data'); ap.add_argument('out')
    ap.add_argument('--contexts', default='0,1,2'); ap.add_argument('--out-size', type=int, default=96)
    ap.add_argument('--k-folds', type=int, default=3); ap.add_argument('--seed', type=int, default=42)
    ap.add_argument('--arch', default='efficientnet_lite0')
    ap.add_argument('--epochs-head', type=int, default=4); ap.add_argument('--epochs-ft', type=int, default=8)
    ap.add_argument('--khct-eq', default=None, help='kaggle-head-ct after tools/kaggle_equalise.py (zero-shot)')
    ap.add_argument('--tag', default=str(date.today()))
    a = ap.parse_args(); out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    rows, runs = [], {}
    for c in map(int, a.contexts.split(',')):
        r, runs[c] = one_context(Path(a.data), out, c, a); rows += r
        t = pd.DataFrame(rows); t.to_csv(ROOT/'bench_results'/f'synth_benchmark_{a.tag}.csv', index=False)
        print(t.to_string(index=False), flush=True)
    if a.khct_eq:
        c0 = min(runs); zs = dict(zero_shot(runs[c0], Path(a.khct_eq)), context=c0, run=runs[c0].dir.name,
                                  synth=json.loads((Path(a.data)/'synth.json').read_text()))
        (ROOT/'bench_results'/f'synth_benchmark_{a.tag}_zeroshot.json').write_text(json.dumps(zs, indent=1))
        print(json.dumps({k: v for k, v in zs.items() if k != 'synth'}, indent=1))
