"The head box on every real GE slice holds the whole skull and head and does not follow the headrest."
import numpy as np
from brainct_nb.dicom import read_hu
from brainct_nb.windowing import head_bbox, seed_bbox, box_check

def test_head_box_on_every_ge_slice(ge_files):
    worst_seed_head = 1.
    for f in ge_files:
        hu = read_hu(f)
        box, ok = head_bbox(hu, return_ok=True)
        assert ok, f
        bone_in, head_in, over_mm = box_check(hu, box)
        assert bone_in == 1.0, (f.name, bone_in)
        assert head_in > .99, (f.name, head_in)
        assert over_mm < 8, (f.name, over_mm)          # following the headrest would overshoot by centimetres
        worst_seed_head = min(worst_seed_head, box_check(hu, seed_bbox(hu))[1])
    assert worst_seed_head < .5                         # the seed's rule cuts heads on this series
