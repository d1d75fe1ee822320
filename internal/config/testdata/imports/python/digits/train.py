import os, sys
import numpy as np
import lab                      # python/lab.py (sys.path: python/)
import digits.model             # python/digits/model.py + python/digits/__init__.py
from pkg import sub, missing    # pkg/__init__.py, pkg/sub/__init__.py
from pkg.sub.deep import thing  # pkg/sub/deep.py
from . import sibling           # relative: digits/sibling.py
from .helpers import (
    a,
    b,
)
if True: import inline_mod
s = "import fake_in_string"
t = '''
import fake_in_triple
'''
# import fake_in_comment
x = 1; import semi
