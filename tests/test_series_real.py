"Series from real headers: the flat RSNA folder becomes 3 studies of 31/40/40 slices in z order; the GE series one tilted study of 28."
from pathlib import Path
import numpy as np, pandas as pd, pytest
from brainct_nb.dicom import read_meta
from brainct_nb.dataset import validate_dataset
from brainct_nb.store import CropStore
from brainct_nb.series import series_table, order_slices

REAL = Path(__file__).resolve().parents[1].parent/'shared'/'data'/'real-head-ct'

def _files(name):
    fs = sorted((REAL/name).glob('*.dcm'))
    if not fs: pytest.skip(f'{REAL/name} not present')
    return fs

def _headers(files): return pd.DataFrame([dict(ID=f.stem, ok=True, **read_meta(f, b'salt')) for f in files])

def test_rsna_flat_folder_is_three_studies_in_z_order():
    o = order_slices(_headers(_files('rsna-series-unlabelled')))
    assert sorted(o.groupby('series_key').size()) == [31, 40, 40] and o.study_key.nunique() == 3
    for _, g in o.groupby('series_key'): assert (np.diff(g.sort_values('slice_index').slice_pos) > 0).all()

def test_ge_series_is_one_tilted_study():
    t = series_table(_headers(_files('ge-hispeed-series')))
    assert len(t) == 1 and t.n_slices.item() == 28 and abs(t.plane_tilt_deg.item() - 18.5) < .01 and t.orientation.item() == 'axial'

def test_the_ingestion_path_groups_the_same(tmp_path):
    fs = _files('rsna-series-unlabelled')
    studies = pd.DataFrame(dict(ID=[f.stem for f in fs], Label=0, path=[str(f) for f in fs]))
    feats = CropStore(tmp_path, 32, b'salt').build(studies)
    t = series_table(feats)
    assert t.study_key.nunique() == 3 and t.n_slices.sum() == feats.ok.sum() == 108     # 3 vertex slices have no head: not usable
    assert not t.filter(like='key').apply(lambda s: s.str.contains('ID_')).any().any()      # keys are salted hashes
