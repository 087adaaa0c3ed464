"From the PACS and back (#37): pull and listen against a real Orthanc, results that validate, a listener that survives kill -9."
import io, json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pandas as pd, pydicom, pytest
from pydicom.data import get_testdata_file
from brainct_nb.demo import make_series_dataset
from brainct_nb import pipeline as P
from brainct_nb.data import read_csv
from brainct_nb.predict import predict, StudyCSV

pacs = pytest.importorskip('brainct_nb.pacs', reason='the pacs extra is not installed: pip install -e ".[pacs]"')
if not pacs.orthanc_available() or not shutil.which('dciodvfy'):
    pytest.skip('Orthanc/orthanc-dicomweb/dicom3tools not installed (apt-get install orthanc orthanc-dicomweb '
                'dicom3tools): the PACS round trip cannot run here', allow_module_level=True)
from pynetdicom import AE
from brainct_nb.dicom_results import read_result, dciodvfy, DicomResults
from pynetdicom.sop_class import CTImageStorage, MRImageStorage, Verification

RSNA = Path(__file__).resolve().parents[2]/'shared'/'data'/'real-head-ct'/'rsna-series-unlabelled'
FAST = dict(epochs_head=1, epochs_ft=1, patience_ft=1)

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "A tiny study-level run on phantom series (what scores; its quality is not the point here) and its data."
    root = tmp_path_factory.mktemp('pacs')
    data = make_series_dataset(root/'data', n_studies=16, n_slices=6, size=64, prevalence=.3, seed=5)
    r = P.start_run(data_root=str(data), seed=1, k_folds=2, batch_size=16, num_workers=0, out_size=32, pretrained=False,
                    config_json=json.dumps(FAST), out_dir=str(root/'out'))
    for step in P.STEPS: step(r)
    return r.dir, data

@pytest.fixture
def orthanc(tmp_path):
    o = pacs.Orthanc(tmp_path/'orthanc', modalities={'brainct': ('BRAINCT', '127.0.0.1', 1)})
    yield o
    o.stop()

def _test_files(run_dir, data):
    fs = read_csv(run_dir/'features_split.csv', dtype={'ID': str})
    return [data/'CTs'/f'{i}.dcm' for i in fs.ID[fs.split == 'test']]

def _results_in(o, study_uid):
    "(SR datasets, SC datasets) Orthanc holds in a study, fetched by WADO-RS."
    c = pacs.dicomweb_client(o.dicomweb); out = {'SR': [], 'OT': []}
    for s in c.search_for_series(search_filters={'StudyInstanceUID': study_uid}):
        mod = s['00080060']['Value'][0]
        if mod in out: out[mod] += list(pacs.retrieve_series(c, study_uid, s['0020000E']['Value'][0]))
    return out['SR'], out['OT']

def _send(files_or_bytes, port, calling='TESTSCU', aet='BRAINCT'):
    ae = AE(ae_title=calling)
    for cx in (CTImageStorage, MRImageStorage, Verification, '1.2.840.10008.5.1.4.1.1.88.34', '1.2.840.10008.5.1.4.1.1.7'):
        ae.add_requested_context(cx)
    assoc = ae.associate('127.0.0.1', port, ae_title=aet)
    if not assoc.is_established: return None
    st = [assoc.send_c_store(pydicom.dcmread(f) if not isinstance(f, pydicom.Dataset) else f).Status
          for f in files_or_bytes]
    assoc.release(); return st

def test_pull_scores_as_predict_and_stores_results_that_validate(run, orthanc, tmp_path):
    run_dir, data = run; files = _test_files(run_dir, data)
    pacs.dicomweb_client(orthanc.dicomweb).store_instances([pydicom.dcmread(f) for f in files])
    t = pacs.pull(run_dir, orthanc.dicomweb, tmp_path/'spool', since='19000101', allow_weak=True)
    pred = predict(run_dir, files, allow_weak=True, writers=[StudyCSV(tmp_path/'studies.csv')])
    st = pred.studies
    assert len(t) == len(st) and (t.status == 'scored').all() and (t.n_scores == 1).all()
    uid_of = {k: str(pydicom.dcmread(f, stop_before_pixels=True).StudyInstanceUID) for k, f in zip(st.study, st.first_file)}
    want = st.assign(study_uid=st.study.map(uid_of)).set_index('study_uid')
    got = t.set_index('study_uid').loc[want.index]
    np.testing.assert_array_equal(got.probability.values, want.probability.values)     # one code path: the same numbers
    np.testing.assert_array_equal(got.label.values, want.label.values)
    for su, w in want.iterrows():
        (sr,), (sc,) = _results_in(orthanc, su)                                          # both, in the source study
        back = read_result(sr)
        assert back['probability'] == w.probability and back['call'] == ('Present' if w.label else 'Absent')
        assert back['threshold'] == pred.threshold and len(back['slices']) == min(3, w.n_slices)
        src = {str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files}
        assert set(back['slices']) <= src
        assert sc.BurnedInAnnotation == 'YES' and sc.StudyInstanceUID == su
        for ds, name in ((sr, 'sr'), (sc, 'sc')):
            f = tmp_path/f'{name}.dcm'; ds.save_as(f, enforce_file_format=True)
            assert dciodvfy(f)['errors'] == [], name
    again = pacs.pull(run_dir, orthanc.dicomweb, tmp_path/'spool', since='19000101', allow_weak=True)
    assert (again.sr_uid.values == t.sr_uid.values).all()                                # the same instances: the same report
    assert all(len(_results_in(orthanc, su)[0]) == 1 for su in want.index)               # stored once

def test_pull_dry_run_and_a_pacs_that_refuses_stow(run, orthanc, tmp_path):
    run_dir, data = run; files = _test_files(run_dir, data)[:6]
    pacs.dicomweb_client(orthanc.dicomweb).store_instances([pydicom.dcmread(f) for f in files])
    su = str(pydicom.dcmread(files[0]).StudyInstanceUID)
    t = pacs.pull(run_dir, orthanc.dicomweb, tmp_path/'dry', study=su, dry_run=True, allow_weak=True)
    assert t.status.tolist() == ['scored'] and _results_in(orthanc, su) == ([], [])      # nothing stored
    assert len(list((tmp_path/'dry'/'results'/su).glob('sr_*.dcm'))) == 1                # kept in the spool
    sp = pacs.Spool(tmp_path/'refused')
    for f in files: sp.receive(Path(f).read_bytes())
    row = sp.score(su, run_dir, pacs.DicomWebStore(f'http://127.0.0.1:{orthanc.http_port}/nope'), allow_weak=True)
    assert row['status'] == 'store_failed' and 'STOW-RS to http://127.0.0.1' in row['reason']
    assert sp.recover() == [su]                                                          # tried again after a restart

def _listen(run_dir, spool, port, store, stable=2):
    cmd = [str(Path(sys.executable).parent/'brainct'), 'listen', '--run', str(run_dir), '--spool', str(spool), '--port',
           str(port), '--allow-aet', 'TESTSCU', '--store-to', store, '--stable-seconds', str(stable),
           '--allow-weak-model']
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    t0 = time.time()
    while time.time() - t0 < 120:
        ae = AE(ae_title='TESTSCU'); ae.add_requested_context(Verification)
        a = ae.associate('127.0.0.1', port, ae_title='BRAINCT')
        if a.is_established: a.release(); return p
        if p.poll() is not None: raise AssertionError(p.stdout.read())
        time.sleep(.5)
    p.kill(); raise AssertionError('listener did not start')

def _wait(spool, su, status='scored', timeout=180):
    t0 = time.time()
    while time.time() - t0 < timeout:
        t = pacs.Spool(spool).table().set_index('study_uid')
        if su in t.index and t.loc[su, 'status'] == status: return t.loc[su]
        time.sleep(.5)
    raise AssertionError(f'study not {status} in {timeout} s: {pacs.Spool(spool).table()}')

def test_listener_killed_mid_study_scores_it_once_after_restart(run, orthanc, tmp_path):
    run_dir, data = run; files = _test_files(run_dir, data)
    su = str(pydicom.dcmread(files[0]).StudyInstanceUID)
    study = [f for f in files if str(pydicom.dcmread(f, stop_before_pixels=True).StudyInstanceUID) == su]
    port, spool = pacs.free_port(), tmp_path/'spool'
    p = _listen(run_dir, spool, port, orthanc.dicomweb, stable=30)
    assert _send(study[:3], port) == [0, 0, 0]
    os.kill(p.pid, signal.SIGKILL); p.wait()
    assert len(list((spool/'incoming'/su).glob('*.dcm'))) == 3                           # every acknowledged instance kept
    p = _listen(run_dir, spool, port, orthanc.dicomweb, stable=6)
    try:
        assert _send(study[3:] + study[:1], port) == [0]*(len(study) - 2)                  # the rest and a duplicate
        row = _wait(spool, su)
    finally: p.terminate(); out = p.communicate(timeout=30)[0]
    assert row.n_scores == 1 and row.n_scored == len(study)
    (sr,), (sc,) = _results_in(orthanc, su)
    assert {r.ReferencedSOPInstanceUID for e in sr.CurrentRequestedProcedureEvidenceSequence
            for s in e.ReferencedSeriesSequence for r in s.ReferencedSOPSequence} == \
           {str(pydicom.dcmread(f).SOPInstanceUID) for f in study}                        # all of the study, once
    assert su not in out and 'due again after a restart' in out                          # logs name no UID

def test_listener_hostile_inputs(run, orthanc, tmp_path):
    run_dir, data = run; files = _test_files(run_dir, data)
    port, spool = pacs.free_port(), tmp_path/'spool'
    logs = []
    lst = pacs.Listener(run_dir, spool, port=port, allowed_aets=['TESTSCU'], store=pacs.make_store(orthanc.dicomweb),
                        stable_s=0, allow_weak=True, log=logs.append).start()
    try:
        assert _send(files[:1], port, calling='INTRUDER') is None                          # unknown calling AE: refused
        mr = pydicom.dcmread(get_testdata_file('MR_small.dcm'))
        assert _send([mr], port) == [0]
        by = {}
        for f in files: by.setdefault(str(pydicom.dcmread(f, stop_before_pixels=True).StudyInstanceUID), []).append(f)
        (sa, fa), (sb, fb) = sorted(by.items())[:2]
        two = [pydicom.dcmread(f) for f in fa[:2]]; two[1].PatientID = 'someone-else'   # a study of two patients
        cut = pydicom.dcmread(fb[0]); su_cut = sb
        buf = io.BytesIO(); cut.save_as(buf, enforce_file_format=True)
        lst.spool.receive(buf.getvalue()[:-5000])                                           # a truncated instance
        assert _send(two, port) == [0, 0]
        (sc_, fc), = [kv for kv in sorted(by.items())[2:3]]                          # an SR pushed alone into its study
        w = DicomResults(tmp_path/'made'); predict(run_dir, fc, allow_weak=True, writers=[w])
        sr = pydicom.dcmread(w.results[0]['files'][0]); assert _send([sr], port) == [0]
        nouid = pydicom.dcmread(fb[1]); nouid.StudyInstanceUID = '../../etc'
        assert _send([nouid], port) == [0xC210]                                            # no valid UID: refused, not kept
        lst.step()
    finally: lst.stop()
    t = lst.spool.table().set_index('study_uid')
    assert t.loc[str(mr.StudyInstanceUID), 'status'] == 'unscored' and 'not CT' in t.loc[str(mr.StudyInstanceUID), 'reason']
    assert t.loc[str(two[0].StudyInstanceUID), 'status'] == 'unscored'
    assert 'more than one patient' in t.loc[str(two[0].StudyInstanceUID), 'reason']
    assert t.loc[su_cut, 'status'] == 'unscored' and t.loc[su_cut, 'reason']
    assert t.loc[sc_, 'status'] == 'unscored' and 'not CT' in t.loc[sc_, 'reason']       # a report is not an image
    assert not (spool/'incoming'/'..').resolve().joinpath('etc').exists() and len(t) == 4
    out = subprocess.run([str(Path(sys.executable).parent/'brainct'), 'listen', '--report', '--spool', str(spool)],
                         capture_output=True, text=True).stdout
    assert out.count('unscored') == 4 and 'not CT' in out

@pytest.mark.skipif(not RSNA.is_dir(), reason='../shared/data/real-head-ct/rsna-series-unlabelled is absent')
def test_real_rsna_series_round_trip(run, orthanc, tmp_path):
    run_dir, _ = run
    by = {}
    for f in sorted(RSNA.glob('*.dcm')): by.setdefault(str(pydicom.dcmread(f, stop_before_pixels=True).StudyInstanceUID), []).append(f)
    (su, files), (su2, files2) = sorted(by.items())[:2]                      # two real series, 31-40 slices each
    orthanc.upload(files)                          # as they are (STOW-RS refuses them: RSNA's export dropped SOPClassUID)
    t = pacs.pull(run_dir, orthanc.dicomweb, tmp_path/'pull', study=su, allow_weak=True)
    assert t.status.tolist() == ['scored']
    (sr,), (sc,) = _results_in(orthanc, su)
    for ds, name in ((sr, 'sr'), (sc, 'sc')):
        f = tmp_path/f'{name}.dcm'; ds.save_as(f, enforce_file_format=True)
        # RSNA's anonymised UIDs ('ID_...') are not DICOM UIDs; the results keep the source's study and references,
        # so dciodvfy's only errors are about those inherited values
        errs = dciodvfy(f)['errors']
        assert all("UID" in e and "ID_" in e for e in errs), [e for e in errs if 'ID_' not in e][:3]
    assert sr.PatientID == pydicom.dcmread(files[0]).PatientID                             # the source's patient module
    port, spool = pacs.free_port(), tmp_path/'listen'
    lst = pacs.Listener(run_dir, spool, port=port, allowed_aets=['TESTSCU'], store=pacs.make_store(orthanc.dicomweb),
                        stable_s=0, allow_weak=True, log=lambda m: None).start()
    try:
        sent = [pydicom.dcmread(f) for f in files2]
        for ds in sent: ds.SOPClassUID = ds.file_meta.get('MediaStorageSOPClassUID', CTImageStorage)   # C-STORE needs it
        assert set(_send(sent, port)) == {0}; lst.step()
    finally: lst.stop()
    row = lst.spool.table().set_index('study_uid').loc[su2]
    assert row.status == 'scored' and row.n_scored == len(files2)
    assert read_result(_results_in(orthanc, su2)[0][0])['probability'] == row.probability

def test_a_late_instance_rescores_and_the_new_report_supersedes_the_old(run, orthanc, tmp_path):
    run_dir, data = run; files = _test_files(run_dir, data)
    su = str(pydicom.dcmread(files[0]).StudyInstanceUID)
    study = [f for f in files if str(pydicom.dcmread(f, stop_before_pixels=True).StudyInstanceUID) == su]
    lst = pacs.Listener(run_dir, tmp_path/'spool', port=pacs.free_port(), allowed_aets=['TESTSCU'],
                        store=pacs.make_store(orthanc.dicomweb), stable_s=0, allow_weak=True, log=lambda m: None).start()
    try:
        assert set(_send(study[:-1], lst.port)) == {0}; lst.step()
        first = lst.spool.table().set_index('study_uid').loc[su]
        assert set(_send(study[-1:], lst.port)) == {0}; lst.step()
    finally: lst.stop()
    second = lst.spool.table().set_index('study_uid').loc[su]
    assert first.status == second.status == 'scored' and second.n_scores == 2 and second.n_scored == len(study)
    srs = {str(d.SOPInstanceUID): d for d in _results_in(orthanc, su)[0]}
    assert set(srs) == {first.sr_uid, second.sr_uid}                                     # both kept, as records are
    pred = srs[second.sr_uid].PredecessorDocumentsSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert pred.ReferencedSOPInstanceUID == first.sr_uid                                 # the new one names the old
