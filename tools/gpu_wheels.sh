#!/usr/bin/env bash
# Download, as Python 3.12 x86-64 wheels and without their dependencies, exactly the packages that the GPU machine's
# image lacks (it has torch, torchvision, timm, pandas, scikit-learn, matplotlib, scipy, pyarrow, pytest, statsmodels...),
# at the versions this checkout's .venv runs (tests/test_gpu_check.py holds this list to what the dry run imports), into .whl/ (git-ignored). The GPU machine has no package index: the
# folder travels with `carry` and tools/gpu_check.sh installs it. Stays within 64 MiB (what can travel), or says so.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
NAMES="fastai fastcore fasttransform fastdownload fastprogress plum-dispatch beartype pydicom pylibjpeg pylibjpeg-libjpeg
pylibjpeg-openjpeg pyjpegls papermill nbformat nbclient jupyter-client jupyter-core traitlets fastjsonschema jsonschema
jsonschema-specifications referencing rpds-py tenacity entrypoints dcurves lifelines autograd autograd-gamma
python-fasthtml starlette itsdangerous python-multipart platformdirs pytz"
PLAT="--platform manylinux_2_35_x86_64 --platform manylinux_2_34_x86_64 --platform manylinux_2_31_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64"
rm -rf .whl; mkdir -p .whl
grep -qx '.whl/' .gitignore || echo '.whl/' >> .gitignore
for n in $NAMES; do
  v=$($PY -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$n")
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $PLAT -d .whl "$n==$v" 2>/dev/null \
    || "$PY" -m pip download -q --no-deps --no-binary=:all: -d .whl "$n==$v"      # a pure-Python sdist (autograd-gamma)
done
size=$(du -sm .whl | cut -f1)
echo "$(ls .whl | wc -l) wheels, ${size} MiB in .whl/"
[ "$size" -le 60 ] || { echo "too large to carry (64 MiB for the whole tree)"; exit 1; }
