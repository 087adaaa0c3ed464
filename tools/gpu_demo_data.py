"""Write N synthetic 512x512 demo studies (~1:18) quickly, in P processes: `python tools/gpu_demo_data.py DEST N [P]`.

Each process writes its share with the demo generator (its own seed) into DEST/part_k; the files are then moved into
DEST/CTs with the part in their name, and one labels1.csv is written. Patients stay distinct (each part's IDs are its own)."""
import sys, shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
import pandas as pd

def _part(args):
    from brainct_nb.demo import make_demo_dataset
    dest, k, n = args
    make_demo_dataset(dest/f'part_{k}', n=n, prevalence=1/18, seed=1000 + k, sizes=(512,), n_dup=0, multi_slice_frac=0)
    return k

def main(dest, n, procs=8):
    dest, n, procs = Path(dest), int(n), max(1, int(procs))
    sizes = [n//procs + (k < n % procs) for k in range(procs)]
    with ProcessPoolExecutor(procs) as ex: list(ex.map(_part, [(dest, k, s) for k, s in enumerate(sizes) if s]))
    ct = dest/'CTs'; ct.mkdir(parents=True, exist_ok=True); labs = []
    for k, s in enumerate(sizes):
        if not s: continue
        part = dest/f'part_{k}'; lab = pd.read_csv(part/'labels1.csv', dtype=str)
        for i in lab.ID: shutil.move(str(part/'CTs'/f'{i}.dcm'), ct/f'p{k}_{i}.dcm')
        labs.append(lab.assign(ID='p' + str(k) + '_' + lab.ID)); shutil.rmtree(part)
    lab = pd.concat(labs, ignore_index=True); lab.to_csv(dest/'labels1.csv', index=False)
    print(f"{len(lab)} studies ({int(lab.Label.astype(int).sum())} positive) -> {dest}")

if __name__ == '__main__': main(*sys.argv[1:])
