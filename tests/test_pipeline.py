"The whole protocol on a small demo set: artifacts, repeatability, resume, no test images before the final step, no PHI."
import json, os, re
from pathlib import Path
from brainct_nb.data import read_csv
import numpy as np, pandas as pd, pytest
from brainct_nb.demo import make_demo_dataset, PLANTED_PHI
from brainct_nb import pipeline as P
from brainct_nb.store import CropCache
from brainct_nb.cli import main as cli_main
from brainct_nb.predict import predict_dicoms

FAST = dict(epochs_head=1, epochs_ft=3, patience_ft=2)
ARTIFACTS = ['run_args.json', 'effective_config.json', 'features.csv', 'features_split.csv', 'features_checks_summary.json',
             'preprocessing_examples_label0.png', 'preprocessing_examples_label1.png', 'cv_thresholds_by_fold.csv',
             'cv_thresholds_summary.csv', 'cv_metrics.json', 'cv_mean_roc.png', 'cv_mean_pr.png', 'threshold_selection.json',
             'test_predictions.csv', 'final_model_state_dict.pt', 'bundle.json', 'test_roc_curve.png', 'test_pr_curve.png',
             'test_metrics.json', 'cv_oof_predictions.csv', 'excluded.csv', 'series.csv', 'run_status.json', 'test_operating_points.csv',
             'test_scoring_variants.csv', 'test_subgroups.csv', 'calibration.json', 'calibration_bins.csv', 'calibration_oof.png', 'calibration_test.png',
             'decision_curves.png', 'decision_curves.csv', 'gradcam_test_cases.png', 'gradcam_test_cases.csv', 'model_card.md']

@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('pipe')
    data = make_demo_dataset(root/'data', n=120, prevalence=.15, seed=11)
    (root/'fast.json').write_text(json.dumps(FAST))
    params = dict(data_root=str(data), seed=7, k_folds=3, batch_size=16, num_workers=2, out_size=32, pretrained=False,
                  config_json=str(root/'fast.json'), out_dir=str(root/'outputs'))
    loaded = []
    orig = CropCache.crops
    def spy(self, feats):
        loaded.append(set(feats.ID)); return orig(self, feats)
    CropCache.crops = spy
    try:
        run = P.start_run(**params)
        P.step_validate(run); P.step_features(run); split = P.step_split(run); P.step_figures(run)
        P.step_cv(run)
        before_final = set().union(*loaded)
        P.step_final(run)
        P.step_calibration(run); P.step_decision_curve(run); P.step_explain(run); P.step_model_card(run)
    finally: CropCache.crops = orig
    return dict(root=root, params=params, run=run, split=split, before_final=before_final, loaded=loaded)

def test_every_artifact(setup):
    d = setup['run'].dir
    missing = [a for a in ARTIFACTS if not (d/a).exists()]
    assert not missing
    assert not list(d.rglob('*.pkl'))
    tm = json.loads((d/'test_metrics.json').read_text())
    for k in ('roc_auc', 'auprc', 'sensitivity', 'specificity', 'ppv', 'npv', 'f1'): assert 'ci_low' in tm[k]
    ec = json.loads((d/'effective_config.json').read_text())
    assert ec['pretrained'] is False and 'from scratch' in ' '.join(ec['notes']) and ec['train_config']['epochs_ft'] == 3
    by_fold = read_csv(d/'cv_thresholds_by_fold.csv')
    assert set(by_fold.fold) == {0, 1, 2} and {'sensitivity', 'ppv', 'npv', 'f1', 'balanced_accuracy', 'tp', 'auprc', 'roc_auc'} <= set(by_fold.columns)

def test_test_images_only_in_final_step(setup):
    sp = setup['split']; test_ids = set(sp.ID[sp.split == 'test'])
    assert test_ids and not (setup['before_final'] & test_ids)
    assert test_ids <= set().union(*setup['loaded'])          # ...and the final step did load them

def test_oof_is_honest_and_covers_training_split(setup):
    d = setup['run'].dir; sp = setup['split']
    oof = read_csv(d/'cv_oof_predictions.csv', dtype={'ID': str})
    assert sorted(oof.ID) == sorted(sp.ID[sp.split == 'train'])
    folds = json.loads((d/'cv_metrics.json').read_text())['folds']
    for f in folds: assert f['n_train'] + f['n_inner_valid'] + f['n_oof'] == len(oof)

def test_no_planted_phi_anywhere(setup):
    d = setup['run'].dir
    needles = [PLANTED_PHI[k] for k in ('PatientName', 'PatientID', 'PatientBirthDate', 'AccessionNumber', 'InstitutionName',
                                       'ReferringPhysicianName')] + [PLANTED_PHI['uid_prefix'], 'Quixbury', 'Zorvath']
    for f in [p for p in d.rglob('*') if p.is_file()] + [p for p in (Path(setup['params']['out_dir'])/'cache').rglob('*') if p.is_file()]:
        blob = f.read_bytes()
        for n in needles: assert n.encode() not in blob, (f, n)

def test_same_seed_same_split_and_oof_via_cli(setup):
    p = setup['params']
    args = ['run'] + sum([[f"--{k.replace('_', '-')}", str(v)] for k, v in p.items()], [])
    assert cli_main(args) == 0
    runs = sorted(Path(p['out_dir']).glob('run_*'))
    assert len(runs) == 2                                    # a new folder; the first run is untouched
    a, b = runs
    for f in ('features_split.csv', 'cv_oof_predictions.csv', 'threshold_selection.json'):
        assert (a/f).read_bytes() == (b/f).read_bytes(), f
    qc = json.loads((b/'features_checks_summary.json').read_text())
    assert qc['cache']['decoded'] == 0                       # second run decoded nothing

def test_resume_skips_finished_folds(setup):
    d = setup['run'].dir
    fold_files = sorted((d/'cv').glob('fold*.json')); assert len(fold_files) == 3
    (d/'cv'/'fold2.json').unlink()                            # as if killed during fold 2
    status = json.loads((d/'run_status.json').read_text()); assert status['state'] == 'finished'
    (d/'run_status.json').write_text(json.dumps({**status, 'state': 'running'}))   # ... which leaves it 'running'
    stamps = {f.name: f.stat().st_mtime_ns for f in fold_files[:2]}
    run = P.start_run(**{**setup['params'], 'resume': str(d)})
    P.step_validate(run); P.step_features(run); P.step_split(run); P.step_cv(run)
    for n, t in stamps.items(): assert (d/'cv'/n).stat().st_mtime_ns == t
    assert (d/'cv'/'fold2.json').exists()
    a = read_csv(d/'cv_oof_predictions.csv')
    assert len(a) == len(setup['split'].query("split == 'train'"))
    (d/'run_status.json').write_text(json.dumps(status))    # finished again (the later tests score with this run)

def test_predict_scores_files_and_reports_bad_ones(setup, tmp_path, ge_files):
    bad = tmp_path/'bad.dcm'; bad.write_text('not dicom')
    df = predict_dicoms(setup['run'].dir, [str(ge_files[10]), str(ge_files[20]), str(bad)])
    assert df.probability[:2].between(0, 1).all() and df.label[:2].isin([0, 1]).all()
    assert np.isnan(df.probability[2]) and 'not a DICOM' in df.error[2]

def test_predict_refuses_blank_and_headless_slices(setup, tmp_path):
    import pydicom
    srcs = sorted(Path(setup['params']['data_root'], 'CTs').glob('*.dcm'))
    src = next(f for f in srcs if not pydicom.dcmread(f).file_meta.TransferSyntaxUID.is_compressed)
    ds = pydicom.dcmread(src); ds.RescaleSlope = 0; ds.save_as(tmp_path/'slope0.dcm')
    ds = pydicom.dcmread(src); a = ds.pixel_array
    ds.PixelData = np.full(a.shape, (-1024 - float(ds.RescaleIntercept))/float(ds.RescaleSlope), a.dtype).tobytes()
    ds.save_as(tmp_path/'air.dcm')
    df = predict_dicoms(setup['run'].dir, tmp_path).set_index('file')
    r = {Path(k).name: v for k, v in df.error.items()}
    assert r['slope0.dcm'] == 'RescaleSlope is 0: every pixel would have the same HU'
    assert r['air.dcm'].startswith('blank image') and df.probability.isna().all() and df.label.isna().all()

def test_resume_refuses_finished_changed_or_other_params(setup, tmp_path):
    from brainct_nb.dicom import ParamError
    d, p = setup['run'].dir, setup['params']
    status = json.loads((d/'run_status.json').read_text())
    (d/'run_status.json').write_text(json.dumps({**status, 'state': 'finished'}))
    with pytest.raises(ParamError, match='this run has finished'): P.start_run(**{**p, 'resume': str(d)})
    (d/'run_status.json').write_text(json.dumps({**status, 'state': 'running'}))
    with pytest.raises(ParamError, match=r"k_folds: 3 -> 4"): P.start_run(**{**p, 'k_folds': 4, 'resume': str(d)})
    # other data under the same parameters: the data fingerprint differs
    import shutil
    other = tmp_path/'data'; shutil.copytree(p['data_root'], other)
    lab = read_csv(other/'labels1.csv', dtype=str); lab.loc[lab.index[:3], 'Label'] = lab.Label[:3].map({'0': '1', '1': '0'})
    lab.to_csv(other/'labels1.csv', index=False)
    (d/'run_args.json').write_text(json.dumps({**json.loads((d/'run_args.json').read_text()), 'data_root': str(other)}))
    run = P.start_run(**{**p, 'data_root': str(other), 'resume': str(d)})
    P.step_validate(run)
    with pytest.raises(P.DatasetError, match='the data changed since this run began'): P.step_features(run)
    assert json.loads((d/'run_status.json').read_text())['state'] == 'failed'
    with pytest.raises(ParamError, match='no resumable run'): P.start_run(**{**p, 'resume': 'latest'})
    (d/'run_status.json').write_text(json.dumps({**status, 'state': 'finished'}))
    (d/'run_args.json').write_text(json.dumps({**json.loads((d/'run_args.json').read_text()), 'data_root': p['data_root']}))

def test_predict_zero_files_and_altered_bundle(setup, tmp_path, capsys):
    from brainct_nb.dicom import ParamError
    (tmp_path/'empty').mkdir()
    with pytest.raises(ParamError, match='no DICOM files'): predict_dicoms(setup['run'].dir, tmp_path/'empty')
    assert cli_main(['predict', '--run', str(setup['run'].dir), '--dicoms', str(tmp_path/'empty')]) == 2
    import shutil
    b = tmp_path/'bundle'; b.mkdir()
    for f in ('bundle.json', 'final_model_state_dict.pt'): shutil.copy(setup['run'].dir/f, b/f)
    meta = json.loads((b/'bundle.json').read_text()); meta['out_size'] = 64; (b/'bundle.json').write_text(json.dumps(meta))
    src = sorted(Path(setup['params']['data_root'], 'CTs').glob('*.dcm'))[0]
    assert cli_main(['predict', '--run', str(b), '--dicoms', str(src)]) == 2
    assert 'was edited after it was written' in capsys.readouterr().err

def test_predict_round_trip_on_demo_files(setup, tmp_path):
    "predict needs nothing but a finished run: the test split's own files score exactly as the final step scored them."
    d = setup['run'].dir
    tp = read_csv(d/'test_predictions.csv', dtype={'ID': str})
    paths = [str(Path(setup['params']['data_root'])/'CTs'/f'{i}.dcm') for i in tp.ID]
    assert cli_main(['predict', '--run', str(d), '--dicoms', *paths, '--out', str(tmp_path/'p.csv')]) == 0
    pr = read_csv(tmp_path/'p.csv')
    np.testing.assert_allclose(pr.probability.values, tp.prob.values, rtol=0, atol=1e-6)
    thr = json.loads((d/'bundle.json').read_text())['threshold']
    assert (pr.label.values == (pr.probability.values >= thr).astype(int)).all() and (pr.label.values == tp.pred.values).all()

def test_grid_from_json_with_verification_cv(setup, tmp_path):
    "A grid of two candidates, one naming another backbone, over 2 fold assignments: every candidate sees the same folds in a repeat, the repeats differ, the table pairs them, the winner's backbone becomes the run's."
    grid = [{}, {'arch': 'resnet34', 'pretrained': False}]
    p = {**setup['params'], 'out_dir': str(tmp_path/'o'), 'run_grid': True, 'grid_json': json.dumps(grid), 'k_folds': 2, 'repeats': 2}
    run = P.start_run(**p)
    P.step_validate(run); P.step_features(run); P.step_split(run); P.step_cv(run)
    sel = json.loads((run.dir/'threshold_selection.json').read_text())
    assert 'verification CV of grid candidate' in sel['threshold_source'] and (run.dir/'cv'/'verify'/'fold1.json').exists()
    t = read_csv(run.dir/'grid_search.csv')
    assert len(t) == 2 and (t.n_folds == 4).all() and (t.repeats == 2).all()
    assert t.set_index('candidate').loc[0, 'd_auprc_mean'] == 0
    g = run.dir/'cv'/'grid'
    ids = lambda d, f: sorted(read_csv(g/d/f'fold{f}_oof.csv', dtype={'ID': str}).ID)
    for f in range(2):
        assert ids('cand0', f) == ids('cand1', f) and ids('cand0_rep1', f) == ids('cand1_rep1', f)   # same folds for every candidate
    assert ids('cand0', 0) != ids('cand0_rep1', 0)                                                      # another assignment per repeat
    folds = read_csv(run.dir/'grid_folds.csv')
    assert len(folds) == 8 and set(folds.candidate) == {0, 1}
    win = grid[int(t.candidate[0])]
    assert run.params.arch == win.get('arch', 'resnet18') and run.stats is not None

def test_a_candidate_naming_an_unknown_backbone_or_layer_fails_before_training(setup, tmp_path):
    p = {**setup['params'], 'out_dir': str(tmp_path/'o'), 'run_grid': True, 'k_folds': 2}
    with pytest.raises(ValueError, match="grid candidate 1"):
        P.start_run(**p, grid_json='[{}, {"arch": "efficientnet_lite1", "pretrained": false, "ft_trainable_attrs": ["layer4"]}]')
    with pytest.raises(ValueError, match="unknown arch 'vgg'"):
        P.start_run(**p, grid_json='[{}, {"arch": "vgg"}]')

def _two_files(setup, tmp_path):
    "Two demo files (one without PixelSpacing), a non-DICOM file named .dcm and a PNG, in one folder."
    import pydicom, shutil
    srcs = sorted(Path(setup['params']['data_root'], 'CTs').glob('*.dcm'))
    src = next(f for f in srcs if not pydicom.dcmread(f).file_meta.TransferSyntaxUID.is_compressed)
    d = tmp_path/'new'; d.mkdir(); shutil.copy(src, d/'a.dcm')
    ds = pydicom.dcmread(src); del ds.PixelSpacing; ds.save_as(d/'nospacing.dcm')
    (d/'bad.dcm').write_text('not dicom'); (d/'screenshot.png').write_bytes(b'\x89PNG')
    return d

def test_predict_notes_missing_spacing_and_names_skipped_files(setup, tmp_path):
    df = predict_dicoms(setup['run'].dir, _two_files(setup, tmp_path)).set_index('file')
    r = {Path(k).name: v for k, v in df.iterrows()}
    assert r['nospacing.dcm'].note.startswith('no PixelSpacing') and 0 <= r['nospacing.dcm'].probability <= 1
    assert pd.isna(r['a.dcm'].note) and pd.isna(r['a.dcm'].error)
    assert r['screenshot.png'].error.startswith('not a DICOM file') and np.isnan(r['screenshot.png'].probability)

def test_predict_summary_counts_scored_files(setup, tmp_path, capsys):
    d = _two_files(setup, tmp_path)
    assert cli_main(['predict', '--run', str(setup['run'].dir), '--dicoms', str(d), '--out', str(tmp_path/'p.csv')]) == 0
    assert '2 files scored (2 could not be)' in capsys.readouterr().out      # a.dcm, nospacing.dcm; bad.dcm, screenshot.png

def test_predict_out_folder_is_named_as_such(setup, tmp_path, capsys):
    f = str(_two_files(setup, tmp_path)/'a.dcm')
    assert cli_main(['predict', '--run', str(setup['run'].dir), '--dicoms', f, '--out', str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f'--out {tmp_path} is a folder' in err and 'predictions.csv' in err and '.tmp' not in err and 'disk' not in err

def test_predict_refuses_unfinished_runs_unless_asked(setup, tmp_path, capsys):
    d = setup['run'].dir; st = d/'run_status.json'; saved = st.read_text()
    f = str(_two_files(setup, tmp_path)/'a.dcm')
    try:
        st.write_text(json.dumps({**json.loads(saved), 'state': 'running'}))
        assert cli_main(['predict', '--run', str(d), '--dicoms', f]) == 2
        assert "the run is 'running', not finished" in capsys.readouterr().err
        assert cli_main(['predict', '--run', str(d), '--dicoms', f, '--allow-unfinished']) == 0
    finally: st.write_text(saved)

def test_predict_answers_per_study_on_a_real_series(setup, tmp_path, ge_files, capsys):
    "The GE series (28 slices, file names in any order) is one study: one row, max probability, its most suspicious slices."
    d = tmp_path/'ge'; d.mkdir()
    import shutil
    for k, f in enumerate(reversed(ge_files)): shutil.copy(f, d/f'x{k:02d}.dcm')      # names no longer follow the slices
    out, st = tmp_path/'slices.csv', tmp_path/'studies.csv'
    assert cli_main(['predict', '--run', str(setup['run'].dir), '--dicoms', str(d), '--out', str(out), '--studies-out', str(st)]) == 0
    sl, s = read_csv(out), read_csv(st)
    assert len(s) == 1 and s.n_slices.item() == 28 and np.isclose(s.probability.item(), sl.probability.max())
    assert s.label.item() == int((sl.probability >= sl.threshold).any())
    assert sorted(sl.slice_index) == list(range(28)) and sl.sort_values('slice_index').file.str[-7:].tolist()[0] == 'x27.dcm'
    assert s.top_slices.item().count(' mm: ') == 3 and '1 studies (1 of several slices)' in capsys.readouterr().out

def test_predict_splits_a_flat_folder_into_its_studies(setup, tmp_path):
    "The RSNA folder (three real studies, slices mixed in one folder): three rows, 108 slices scored (3 vertex slices have no head)."
    rsna = sorted((Path(__file__).resolve().parents[1].parent/'shared'/'data'/'real-head-ct'/'rsna-series-unlabelled').glob('*.dcm'))
    if not rsna: pytest.skip('RSNA series not present')
    from brainct_nb.predict import predict
    pred = predict(setup['run'].dir, rsna[0].parent); sl, st = pred.slices, pred.studies
    assert len(st) == 3 and st.n_slices.sum() == 108 and sl.error.notna().sum() == 3
