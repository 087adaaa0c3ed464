__version__ = "0.1.0"

import warnings as _w
# fastai.layers decorates three functions with torch.jit.script, which torch 2.9+ deprecates with a FutureWarning at
# import time: nothing a user of brainct_nb can act on, so it is silenced here, for that module and message only.
_w.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning, module=r'torch\.jit\._script')
