from .. import lab
