"""The real-anatomy study benchmark (#36): the protocol on a synthetic-on-real dataset (`brainct synth`), slice context
0 vs 1 vs 2, and for each the study aggregations max / top-k / gru on the same out-of-fold slice scores. The folds are
the same for every context (same seed, same data), grouped by PatientID, which `brainct synth` sets once per
background head: a head never sits on both sides. Then the context-0 final model, trained on synthetic bleeds only,
scores real bleeds zero-shot (kaggle-head-ct, equalised: `tools/kaggle_equalise.py`), with a bootstrap CI.

    .venv/bin/python tools/synth_benchmark.py SYNTH_DATA OUT_DIR [--khct-eq DIR] [--contexts 0,1,2] [--out-size 96]
        [--cv-only 1,2] [--oof 0=RUN_DIR]

`--cv-only` stops those contexts after the CV step (the study table is CV's; no final model, no test figure).
`--oof C=RUN_DIR` takes context C's out-of-fold slice scores from a finished run instead of training again (the study
aggregations, the learned one included, are recomputed from them with this code: the aggregator reads OOF scores only).

Writes bench_results/synth_benchmark_<date>.csv (one row per context x aggregation), ..._zeroshot.json, and prints
them. Figures are development figures (synthetic lesions); claims about accuracy rest on real bleeds only.
"""
import argparse, json, time
from datetime import date
from pathlib import Path
import numpy as np, pandas as pd
from sklearn.metrics import roc_auc_score, average_precision_score

ROOT = Path(__file__).resolve().parents[1]
FOLD_ROWS = []                                    # per-fold study figures of the contexts recomputed from OOF

def _steps(run, until):
    import matplotlib.pyplot as plt
    from brainct_nb.pipeline import STEPS
    try:
        for step in STEPS[:[s.__name__ for s in STEPS].index(until) + 1]: step(run); plt.close('all')
    finally: run.executor.shutdown()

def from_oof(run, run_dir):
    "Context C's study aggregations recomputed from a finished run's OOF slice scores (the same folds and data)."
    from brainct_nb.data import read_csv
    from brainct_nb.step_cv import fold_aggregators, aggregation_table
    so = read_csv(Path(run_dir)/'cv_oof_slice_predictions.csv', dtype={'ID': str})
    learned = fold_aggregators(run, so)
    agg = aggregation_table(so, run, learned=learned); agg.to_csv(run.dir/'cv_aggregations.csv', index=False)
    fold_table(so, run, learned).to_csv(run.dir/'cv_aggregations_by_fold.csv', index=False)
    old = json.loads((Path(run_dir)/'cv_metrics.json').read_text()); old['recomputed_from'] = str(run_dir)
    (run.dir/'cv_metrics.json').write_text(json.dumps(old, indent=1))
    tm = Path(run_dir)/'test_metrics.json'
    if tm.exists(): (run.dir/'test_metrics.json').write_text(tm.read_text())

def fold_table(so, run, learned, ks=(2, 3, 5)) -> pd.DataFrame:
    "Study ROC-AUC and AUPRC of each aggregation in each fold (the rows `aggregation_table` averages): for paired differences."
    from brainct_nb.series import study_scores
    s = so.merge(run.features.slices, on='ID', how='left')
    tabs = [('max', study_scores(s, 'max', cols=('prob_model',)))] + [(f'topk (k={k})', study_scores(s, 'topk', k, cols=('prob_model',))) for k in ks]
    lab = tabs[0][1].set_index('study_key').Label
    tabs.append(('gru', learned.assign(study_key=learned.ID, Label=lab.loc[learned.ID].values)))
    return pd.DataFrame([dict(aggregation=n, fold=int(f), n=len(d), n_pos=int(d.Label.sum()),
                              roc_auc=roc_auc_score(d.Label, d.prob_model), auprc=average_precision_score(d.Label, d.prob_model))
                         for n, st in tabs for f, d in st.groupby('fold')])

def one_context(data, out, ctx, a):
    from brainct_nb.start import start_run
    t0 = time.time(); oof = dict(o.split('=') for o in a.oof.split(',')) if a.oof else {}
    run = start_run(data_root=str(data), seed=a.seed, k_folds=a.k_folds, out_size=a.out_size, arch=a.arch,
                    context=ctx, aggregation='max', out_dir=str(out/f'ctx{ctx}'), num_workers=2,
                    config_json=json.dumps(dict(epochs_head=a.epochs_head, epochs_ft=a.epochs_ft)))
    cv_only = str(ctx) in a.cv_only.split(',')
    if str(ctx) in oof: _steps(run, 'step_split'); from_oof(run, oof[str(ctx)])
    else: _steps(run, 'step_cv' if cv_only else 'step_model_card')
    cvm = json.loads((run.dir/'cv_metrics.json').read_text())
    agg = pd.read_csv(run.dir/'cv_aggregations.csv')
    bf = run.dir/'cv_aggregations_by_fold.csv'
    if bf.exists(): FOLD_ROWS.append(pd.read_csv(bf).assign(context=ctx))
    tmp = run.dir/'test_metrics.json'; tm = json.loads(tmp.read_text()) if tmp.exists() else None
    rows = []
    for r in agg.itertuples():
        rows.append(dict(context=ctx, aggregation=r.aggregation, study_roc_auc_mean=r.roc_auc_mean,
                         study_roc_auc_std=r.roc_auc_std, study_auprc_mean=r.auprc_mean, study_auprc_std=r.auprc_std,
                         slice_roc_auc_mean=cvm['slice_level']['roc_auc_mean'],
                         slice_auprc_mean=cvm['slice_level']['auprc_mean'],
                         n_studies=cvm['n_studies'], n_pos_studies=cvm['n_pos_studies'],
                         test_study_roc_auc=tm['roc_auc']['value'] if tm and r.aggregation == 'max' else np.nan,
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
    ap.add_argument('--cv-only', default='', help='contexts to stop after the CV step, e.g. 1,2')
    ap.add_argument('--oof', default='', help='C=RUN_DIR: context C from a finished run\'s OOF slice scores')
    a = ap.parse_args(); out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    rows, runs = [], {}
    for c in map(int, a.contexts.split(',')):
        r, runs[c] = one_context(Path(a.data), out, c, a); rows += r
        t = pd.DataFrame(rows); t.to_csv(ROOT/'bench_results'/f'synth_benchmark_{a.tag}.csv', index=False)
        if FOLD_ROWS: pd.concat(FOLD_ROWS).to_csv(ROOT/'bench_results'/f'synth_benchmark_{a.tag}_folds.csv', index=False)
        print(t.to_string(index=False), flush=True)
    if a.khct_eq:
        c0 = min(runs); zs = dict(zero_shot(runs[c0], Path(a.khct_eq)), context=c0, run=runs[c0].dir.name,
                                  synth=json.loads((Path(a.data)/'synth.json').read_text()))
        (ROOT/'bench_results'/f'synth_benchmark_{a.tag}_zeroshot.json').write_text(json.dumps(zs, indent=1))
        print(json.dumps({k: v for k, v in zs.items() if k != 'synth'}, indent=1))
