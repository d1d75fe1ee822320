# Wrote the event files of testdata/torch with torch 2.11.0 SummaryWriter and
# tensorboard 2.21.0: python testdata/torch-gen.py testdata/torch
# (TestTorchEventFiles holds the values; EventAccumulator reads the same).
import sys
import numpy as np
from torch.utils.tensorboard import SummaryWriter
out = sys.argv[1]
w = SummaryWriter(log_dir=out)
expect = {}
for step in range(5):
    w.add_scalar("Loss/train", 2.5 - 0.25 * step, step)
    if step % 2 == 0:
        w.add_scalar("Loss/test", 2.6 - 0.2 * step, step)
    w.add_scalar("lr", 1e-3 * (0.5 ** step), step, new_style=True)
    w.add_scalar("acc64", 0.1 * step + 1e-9, step, new_style=True, double_precision=True)
    w.add_scalars("loss_parts", {"ce": 1.0 / (step + 1), "reg": 0.01 * step}, step)
w.add_histogram("weights", np.array([0.1, 0.2, 0.3]), 4)
w.add_text("note", "not a scalar", 4)
w.close()
