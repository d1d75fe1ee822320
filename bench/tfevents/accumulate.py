"""Time TensorBoard's own EventAccumulator on one event file.

    python accumulate.py EVENT_FILE ROUNDS

Prints one JSON object: the seconds of each round (a fresh accumulator
each time, size_guidance 0: keep every scalar) and, from the last round,
the number of scalars and the last value of each tag, for the Go side to
check it read the same.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from tensorboard.backend.event_processing import event_accumulator  # noqa: E402


def main():
    path, rounds = sys.argv[1], int(sys.argv[2])
    seconds, last, count = [], {}, 0
    for _ in range(rounds):
        start = time.perf_counter()
        acc = event_accumulator.EventAccumulator(path, size_guidance={event_accumulator.SCALARS: 0})
        acc.Reload()
        seconds.append(time.perf_counter() - start)
        count, last = 0, {}
        for tag in acc.Tags()["scalars"]:
            events = acc.Scalars(tag)
            count += len(events)
            last[tag] = [events[-1].step, events[-1].value]
    json.dump({"seconds": seconds, "scalars": count, "last": last}, sys.stdout)


if __name__ == "__main__":
    main()
