# A stand-in for torch on an H200 machine, for the framework probe's tests.
__version__ = "2.11.0+cu130"
from . import backends, cuda, version  # noqa: E402,F401
