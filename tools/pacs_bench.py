"""The PACS round trip's speed on this machine: a real 40-slice RSNA series C-STOREd to `brainct listen` (storing to a
real Orthanc by STOW-RS), seconds from the last instance acknowledged to the SR found in Orthanc, beside `brainct
predict` on the same files; the listener's peak memory; instances per second received.

The bundle is an untrained EfficientNet-Lite1 at 256 px (the real-data default backbone and crop): the timing is the
point here, not the answer. Writes bench_results/pacs_bench_<date>.json.
usage: python tools/pacs_bench.py [--stable 2]"""
import argparse, json, subprocess, sys, time, tempfile, datetime, platform, os
from pathlib import Path
import pydicom
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage, Verification
from brainct_nb import pacs
from brainct_nb.bundle import save_bundle
from brainct_nb.model import ct_model, arch_stats
from brainct_nb.windowing import window_ranges

ROOT = Path(__file__).resolve().parents[1]
RSNA = ROOT.parent/'shared'/'data'/'real-head-ct'/'rsna-series-unlabelled'

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--stable', type=float, default=2.); a = ap.parse_args()
    by = {}
    for f in sorted(RSNA.glob('*.dcm')): by.setdefault(str(pydicom.dcmread(f, stop_before_pixels=True).StudyInstanceUID), []).append(f)
    su, files = max(by.items(), key=lambda kv: len(kv[1]))
    tmp = Path(tempfile.mkdtemp()); run = tmp/'run'
    m = ct_model('efficientnet_lite1', pretrained=False)
    save_bundle(run, m, .5, 256, window_ranges(), stats=arch_stats('efficientnet_lite1'))
    (run/'run_status.json').write_text(json.dumps(dict(state='finished')))
    brainct = str(Path(sys.executable).parent/'brainct')
    t0 = time.time()
    subprocess.run([brainct, 'predict', '--run', str(run), '--dicoms', *map(str, files), '--out', str(tmp/'p.csv'),
                    '--studies-out', str(tmp/'s.csv')], check=True, capture_output=True)
    t_predict = time.time() - t0
    o = pacs.Orthanc(tmp/'orthanc'); port = pacs.free_port()
    p = subprocess.Popen([brainct, 'listen', '--run', str(run), '--spool', str(tmp/'spool'), '--port', str(port),
                          '--allow-aet', 'BENCH', '--store-to', o.dicomweb, '--stable-seconds', str(a.stable)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ae = AE(ae_title='BENCH'); ae.add_requested_context(Verification); ae.add_requested_context(CTImageStorage)
    while True:
        assoc = ae.associate('127.0.0.1', port, ae_title='BRAINCT')
        if assoc.is_established: break
        time.sleep(.3)
    sent = [pydicom.dcmread(f) for f in files]
    for ds in sent: ds.SOPClassUID = ds.file_meta.get('MediaStorageSOPClassUID', CTImageStorage)  # RSNA's export dropped it
    t0 = time.time(); st = [assoc.send_c_store(ds).Status for ds in sent]; t_last = time.time(); assoc.release()
    assert set(st) == {0}, st
    c = pacs.dicomweb_client(o.dicomweb)
    while not [s for s in c.search_for_series(search_filters={'StudyInstanceUID': su, 'Modality': 'SR'})]:
        time.sleep(.1)
    t_sr = time.time()
    hwm = [l for l in Path(f'/proc/{p.pid}/status').read_text().splitlines() if l.startswith('VmHWM')][0].split()[1]
    p.terminate(); p.communicate(timeout=30); o.stop()
    res = dict(date=datetime.date.today().isoformat(), machine=f'{platform.machine()}, {os.cpu_count()} CPUs',
               data=f'RSNA real series, {len(files)} slices (../shared/data/real-head-ct/rsna-series-unlabelled)',
               bundle='untrained efficientnet_lite1, 256 px (timing only)', stable_seconds=a.stable,
               predict_cli_s=round(t_predict, 2), receive_s=round(t_last - t0, 2),
               instances_per_s=round(len(files)/(t_last - t0), 1), last_instance_to_sr_s=round(t_sr - t_last, 2),
               of_which_stable_wait_s=a.stable, listener_peak_rss_mb=round(int(hwm)/1024, 1))
    out = ROOT/'bench_results'/f"pacs_bench_{res['date']}.json"; out.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))

if __name__ == '__main__': main()
