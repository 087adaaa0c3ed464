"Studies, not slices: the study-level protocol on phantom series (slice labels, then study labels), predict per study, layouts."
import json, shutil
from pathlib import Path
from brainct_nb.data import read_csv
import numpy as np, pandas as pd, pytest, torch
from brainct_nb.demo import make_series_dataset
from brainct_nb import pipeline as P
from brainct_nb.errors import ParamError
from brainct_nb.dataset import validate_dataset
from brainct_nb.store import CropStore
from brainct_nb.series import series_table
from brainct_nb.steps import protocol_level
from brainct_nb.predict import predict

FAST = dict(epochs_head=1, epochs_ft=2, patience_ft=2)

def _run(data, out, **kw):
    run = P.start_run(data_root=str(data), seed=3, k_folds=3, batch_size=16, num_workers=0, out_size=32, pretrained=False,
                      config_json=json.dumps(FAST), out_dir=str(out), **kw)
    for step in P.STEPS: step(run)
    return run

@pytest.fixture(scope='module')
def slice_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('studies')
    data = make_series_dataset(root/'data', n_studies=30, n_slices=6, size=64, prevalence=.3, seed=2, two_study_frac=.3, two_series_frac=.2)
    return _run(data, root/'out'), data

def test_a_flat_folder_of_series_runs_at_study_level(slice_run):
    run, data = slice_run; d = run.dir
    assert run.features.level == 'study'
    sl = run.features.slices; fs = read_csv(d/'features_split.csv', dtype={'ID': str}).merge(sl, on='ID')
    assert fs.groupby('study_key').split.nunique().max() == 1                     # a study never crosses sides
    assert fs.groupby('patient_hash').split.nunique().max() == 1                  # nor a patient's two studies
    assert fs.groupby('patient_hash').study_key.nunique().max() >= 2               # (there are such patients)
    tp = read_csv(d/'test_predictions.csv')
    test_keys = set(fs.study_key[fs.split == 'test'])
    assert set(tp.ID) == test_keys and {'n_slices', 'top_slices'} <= set(tp.columns)
    assert (tp.Label == fs[fs.split == 'test'].groupby('study_key').Label.max().loc[tp.ID].values).all()   # any slice positive
    tm = json.loads((d/'test_metrics.json').read_text())
    assert tm['n'] == len(test_keys) and tm['level'] == 'study' and tm['slice_level']['n'] == int((fs.split == 'test').sum())
    oof = read_csv(d/'cv_oof_predictions.csv'); so = read_csv(d/'cv_oof_slice_predictions.csv', dtype={'ID': str})
    assert len(oof) == fs[fs.split == 'train'].study_key.nunique() and len(so) == int((fs.split == 'train').sum())
    assert np.allclose(oof.set_index('ID').prob_model.sort_index(),
                       so.merge(sl, on='ID').groupby('study_key').prob_model.max().sort_index())   # max of its slices
    agg = read_csv(d/'cv_aggregations.csv'); assert agg.aggregation.tolist() == ['max', 'topk (k=2)', 'topk (k=3)', 'topk (k=5)', 'gru']
    card = (d/'model_card.md').read_text(); assert '- Unit: the study.' in card and 'Slice level, for reference' in card
    ex = read_csv(d/'excluded.csv'); assert ex.reason.str.startswith('series not used').any()   # the thin reconstructions
    b = json.loads((d/'bundle.json').read_text()); assert (b['level'], b['aggregation']) == ('study', 'max')

def test_predict_reproduces_the_study_test_predictions(slice_run, tmp_path):
    run, data = slice_run
    fs = read_csv(run.dir/'features_split.csv', dtype={'ID': str})
    src = tmp_path/'new'; src.mkdir()
    for i in fs.ID[fs.split == 'test']: shutil.copy(data/'CTs'/f'{i}.dcm', src/f'{i}.dcm')
    pred = predict(run.dir, src, cam_dir=tmp_path/'cam', allow_weak=True); df = pred.slices   # a tiny run may rank below chance (#33)
    st = pred.studies.set_index('study')
    tp = read_csv(run.dir/'test_predictions.csv').set_index('ID')
    assert set(st.index) == set(tp.index)
    assert np.abs(st.probability.loc[tp.index] - tp.prob).max() < 1e-6
    assert (st.label.loc[tp.index] == tp.pred).all()
    assert sorted(p.name for p in (tmp_path/'cam').iterdir()) == sorted(f'study_{k}_cam.png' for k in tp.index)   # a montage per study

@pytest.fixture(scope='module')
def study_label_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('mil')
    data = make_series_dataset(root/'data', n_studies=30, n_slices=6, size=64, prevalence=.35, seed=4, layout='folders', study_labels=True)
    return _run(data, root/'out'), data

def test_study_labels_train_through_the_max(study_label_run):
    run, data = study_label_run; d = run.dir
    assert run.report.label_level == 'study' and run.features.level == 'study'
    cvm = json.loads((d/'cv_metrics.json').read_text())
    assert cvm['labels'] == 'study' and cvm['slice_level'] is None
    tp = read_csv(d/'test_predictions.csv')
    labels = read_csv(data/'labels1.csv').set_index('ID').Label
    assert tp.ID.str.match(r'study_\d{4}$').all() and (tp.Label == labels.loc[tp.ID].values).all()   # one row per labelled folder
    assert 'multiple-instance learning' in (d/'model_card.md').read_text()
    h = read_csv(d/'cv'/'fold0_history.csv'); assert {'auprc', 'roc_auc'} <= set(h.columns)

def test_study_labels_refuse_topk_and_slice_level():
    t = pd.DataFrame(dict(n_slices=[8], kept=[True]))
    with pytest.raises(ParamError, match="use aggregation='max'"): protocol_level('auto', t, 'study', 'topk')
    with pytest.raises(ParamError, match='needs a label per slice'): protocol_level('slice', t, 'study')
    assert protocol_level('auto', t) == 'study' and protocol_level('auto', t.assign(n_slices=1)) == 'slice'

def test_a_study_split_across_two_folders_is_one_series(tmp_path):
    data = make_series_dataset(tmp_path/'d', n_studies=3, n_slices=8, size=64, seed=1, layout='folders', two_series_frac=0)
    ct = data/'CTs'; moved = ct/'extra'/'series_1'; moved.mkdir(parents=True)
    for f in sorted((ct/'study_0000'/'series_1').glob('*.dcm'))[:4]: f.rename(moved/f.name)   # half of a study elsewhere
    files = sorted(ct.rglob('*.dcm'))
    studies = pd.DataFrame(dict(ID=[f.relative_to(ct).with_suffix('').as_posix() for f in files], Label=0, path=[str(f) for f in files]))
    feats = CropStore(tmp_path/'store', 32, b'salt').build(studies)
    t = series_table(feats)
    assert len(t) == 3 and sorted(t.n_slices) == [8, 8, 8] and (t.gaps == 0).all()

@pytest.fixture(scope='module')
def context_gru_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('ctx')
    data = make_series_dataset(root/'data', n_studies=30, n_slices=6, size=64, prevalence=.35, seed=6)
    return _run(data, root/'out', context=1, aggregation='gru', calibration='platt', tta=True), data

def test_context_and_learned_aggregator_reproduce_through_predict(context_gru_run, tmp_path):
    run, data = context_gru_run
    assert run.test.model.conv1.weight.shape[1] == 9                          # 3 windows x (slice + a neighbour each side)
    b = json.loads((run.dir/'bundle.json').read_text()); assert b['context'] == 1 and b['aggregation'] == 'gru'
    assert (run.dir/b['aggregator']['file']).exists()
    fs = read_csv(run.dir/'features_split.csv', dtype={'ID': str})
    src = tmp_path/'new'; src.mkdir()
    for i in fs.ID[fs.split == 'test']: shutil.copy(data/'CTs'/f'{i}.dcm', src/f'{i}.dcm')
    st = predict(run.dir, src, allow_weak=True).studies.set_index('study')
    tp = read_csv(run.dir/'test_predictions.csv').set_index('ID')
    assert np.abs(st.probability.loc[tp.index] - tp.prob).max() < 1e-6 and (st.label.loc[tp.index] == tp.pred).all()
    assert 'gru' in read_csv(run.dir/'cv_aggregations.csv').aggregation.tolist()

def test_each_fold_aggregator_learns_only_from_its_training_folds(context_gru_run):
    from brainct_nb.step_cv import fold_aggregators
    run, _ = context_gru_run
    so = read_csv(run.dir/'cv_oof_slice_predictions.csv', dtype={'ID': str})
    g = fold_aggregators(run, so)
    study_fold = so.merge(run.features.slices, on='ID').groupby('study_key').fold.first()
    for f, keys in g.attrs['trained_on'].items():
        assert set(keys) == set(study_fold.index[study_fold != f])                # every other fold's study, none of its own
    oof = read_csv(run.dir/'cv_oof_predictions.csv').set_index('ID')
    assert np.allclose(g.set_index('ID').prob_model.loc[oof.index], oof.prob_model)   # the run's OOF study scores are these

def test_aggregators_learn_from_out_of_fold_scores_only(context_gru_run):
    "Fold f's aggregator reads the other folds' OOF scores (never a slice model's own training slices); the final one all."
    from brainct_nb.step_cv import fold_aggregators
    from brainct_nb.fitting import fit_aggregator_task, agg_task
    from brainct_nb.aggregate import load_aggregator
    run, _ = context_gru_run
    so = read_csv(run.dir/'cv_oof_slice_predictions.csv', dtype={'ID': str})
    moved = so.assign(prob_model=np.where(so.fold == 0, 1 - so.prob_model, so.prob_model))
    a, b = fold_aggregators(run, so), fold_aggregators(run, moved)
    for f in (1, 2):                                      # changing fold 0's scores changes what folds 1, 2 learned from
        assert not np.allclose(a[a.fold == f].prob_model, b[b.fold == f].prob_model)
    bundled = load_aggregator(run.dir, json.loads((run.dir/'bundle.json').read_text())['aggregator'])
    refit, keys = fit_aggregator_task(agg_task(run, so, run.params.seed))
    assert set(keys) == set(so.merge(run.features.slices, on='ID').study_key)     # every CV study
    for k, v in bundled.state_dict().items(): assert torch.equal(v, refit.state_dict()[k]), k
