"""Every file of pydicom's test data and of pydicom-data goes through ingestion: CT comes out as HU equal to pydicom's
modality LUT, everything else is rejected with a specific reason. Zero crashes, zero silent garbage."""
import collections, warnings
from pathlib import Path
import numpy as np, pydicom, pytest
from pydicom.data import get_testdata_files, get_testdata_file
from pydicom.pixels import apply_modality_lut
from brainct_nb.dicom import extract_row, hu_from_dataset, DicomError, HU_MIN, HU_MAX

REASONS = ('not CT', 'no pixel data', 'multi-frame', 'colour image', 'cannot decode', 'not a DICOM file', 'empty file',
           'unreadable DICOM', 'expected a 2-D slice', 'image too small', 'blank image', 'RescaleSlope', 'RescaleIntercept',
           'the modality LUT gives non-finite')

def corpus():
    files = {p for p in map(Path, get_testdata_files()) if p.is_file()}
    roots = [Path(pydicom.__file__).parent/'data'/'test_files']
    ds = get_testdata_file('693_UNCR.dcm')
    if ds: roots.append(Path(ds).parent)
    for r in roots: files |= {p for p in r.rglob('*') if p.is_file() and p.suffix not in ('.py', '.pyc', '.txt', '.json', '.md', '.gz', '.bz2', '.zip')}
    return sorted(files)

def test_corpus_counts_and_reasons(capsys):
    files = corpus()
    assert len(files) > 150
    counts = collections.Counter()
    for f in files:
        r = extract_row(f, salt=b'corpus')
        if r['ok']:
            counts['ok (CT in HU)'] += 1
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                d = pydicom.dcmread(f); raw = d.pixel_array
            ref = np.clip(apply_modality_lut(raw, d).astype(np.float32), HU_MIN, HU_MAX)
            from brainct_nb.dicom import read_hu, padding_mask
            hu = read_hu(f); pad = padding_mask(raw, d)
            keep = ~pad if pad is not None else np.ones(raw.shape, bool)
            np.testing.assert_allclose(hu[keep], ref[keep], atol=1e-3, err_msg=str(f))
        else:
            reason = next((k for k in REASONS if r['error'].startswith(k)), None)
            assert reason is not None, (f, r['error'])              # a specific reason, never a bare exception
            counts[reason] += 1
    with capsys.disabled(): print('\ncorpus:', len(files), 'files;', dict(counts.most_common()))
    assert counts['ok (CT in HU)'] >= 5 and counts['not CT'] > 50

def test_decoders_never_crash_even_if_everything_were_ct():
    "Force Modality=CT on every file with pixel data: each decodes to HU or fails with a DicomError reason."
    n_dec, n_rej = 0, collections.Counter()
    for f in corpus():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore'); d = pydicom.dcmread(f)
        except Exception: continue
        if 'PixelData' not in d: continue
        d.Modality = 'CT'
        try:
            hu, _ = hu_from_dataset(d, f); n_dec += 1
            assert hu.dtype == np.float32 and hu.ndim == 2 and np.isfinite(hu).all()
            assert hu.min() >= HU_MIN and hu.max() <= HU_MAX
        except DicomError as e: n_rej[e.reason.split(' (')[0].split(':')[0]] += 1
    assert n_dec > 30 and sum(n_rej.values()) > 10, (n_dec, n_rej)
