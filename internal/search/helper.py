"""magelab's Optuna helper: a study's ask-and-tell interface over JSON lines.

    python helper.py        (magelab starts it; it is not a stage script)

Reads one request per line on stdin, {"op": NAME, ...}, and answers each with one
line on stdout: the result, or {"error": "..."}. The first request opens the
study (op "open"); the process ends when stdin closes or after op "close". The
study lives in an Optuna JournalStorage file, so that a sweep resumes where it
stopped and optuna-dashboard opens it. Parameters travel in Optuna's internal
representation: a float for float and int distributions, the index of the
choice for categorical ones. Logs and warnings go to stderr.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import sys
import warnings

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.storages.journal._file import BaseJournalFileLock
from optuna.trial import TrialState

STATES = {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED, "fail": TrialState.FAIL}


class FlockLock(BaseJournalFileLock):
    """The journal's lock as an flock(2) on FILE.lock: the kernel releases it when
    the holder dies, so a helper killed mid-write leaves no stale lock behind."""

    def __init__(self, path: str) -> None:
        self._path = path + ".flock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        self._fd = os.open(self._path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class Warmup(optuna.pruners.BasePruner):
    """Stops no trial until n trials have completed, then defers to inner (which
    still sees every report, so that the rungs of ASHA and Hyperband fill up)."""

    def __init__(self, inner: optuna.pruners.BasePruner, n: int) -> None:
        self.inner, self.n = inner, n

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        if not self.inner.prune(study, trial):
            return False
        return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) >= self.n


def distribution(spec: dict):
    kind = spec["type"]
    if kind == "float":
        return FloatDistribution(spec["low"], spec["high"], log=spec.get("log", False))
    if kind == "int":
        return IntDistribution(int(spec["low"]), int(spec["high"]), log=spec.get("log", False))
    if kind == "categorical":
        return CategoricalDistribution(spec["choices"])
    raise ValueError(f"unknown distribution type {kind!r}")


def sampler(spec: dict):
    name, seed = spec["name"], spec.get("seed")
    if name == "tpe":
        # constant_liar: trials running in parallel count as bad guesses, so
        # that parallel asks propose different points.
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True, multivariate=True)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"unknown sampler {name!r}")


def pruner(spec: dict | None):
    if not spec:
        return optuna.pruners.NopPruner()
    method, warmup = spec["method"], spec.get("warmup_trials", 0)
    if method == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=warmup, n_warmup_steps=spec["min_steps"])
    if method == "asha":
        inner = optuna.pruners.SuccessiveHalvingPruner(
            min_resource=spec["min_steps"], reduction_factor=spec["reduction_factor"])
    elif method == "hyperband":
        inner = optuna.pruners.HyperbandPruner(
            min_resource=spec["min_steps"], max_resource=spec.get("max_steps") or "auto",
            reduction_factor=spec["reduction_factor"])
    else:
        raise ValueError(f"unknown pruner {method!r}")
    return Warmup(inner, warmup) if warmup > 0 else inner


def internal(trial: optuna.trial.FrozenTrial) -> dict:
    return {k: trial.distributions[k].to_internal_repr(v) for k, v in trial.params.items()}


def describe(t: optuna.trial.FrozenTrial, space: dict) -> dict:
    value = t.value if t.values is not None else None
    if value is not None and not math.isfinite(value):
        value = None
    params = internal(t)
    if t.state == TrialState.WAITING:  # an enqueued point: its values wait in fixed_params
        fixed = t.system_attrs.get("fixed_params", {})
        params = {k: space[k].to_internal_repr(v) for k, v in fixed.items() if k in space}
    return {"number": t.number, "state": t.state.name.lower(), "params": params, "value": value,
            "user_attrs": t.user_attrs, "last_step": t.last_step}


class Helper:
    def __init__(self) -> None:
        self.study: optuna.Study | None = None
        self.space: dict = {}
        self.running: dict[int, optuna.Trial] = {}

    def open(self, req: dict) -> dict:
        storage = JournalStorage(JournalFileBackend(req["journal"], lock_obj=FlockLock(req["journal"])))
        self.space = {k: distribution(v) for k, v in (req.get("space") or {}).items()}
        self.study = optuna.create_study(
            study_name=req["study"], storage=storage, direction=req["direction"],
            sampler=sampler(req["sampler"]), pruner=pruner(req.get("pruner")), load_if_exists=True)
        held = len(self.study.get_trials(deepcopy=False))
        if held:
            # A new process's seeded sampler would start its random sequence
            # again and propose the points it proposed first: a resumed study
            # draws from seed + the trials it holds (the same history, the
            # same proposals).
            spec = dict(req["sampler"])
            if spec.get("seed") is not None:
                spec["seed"] += held
            self.study.sampler = sampler(spec)
        if self.study.direction.name.lower() != req["direction"]:
            raise ValueError(f"study {req['study']} in {req['journal']} was made to "
                             f"{self.study.direction.name.lower()}, not {req['direction']}")
        for k, v in (req.get("attrs") or {}).items():
            self.study.set_user_attr(k, v)
        return {"trials": [describe(t, self.space) for t in self.study.get_trials(deepcopy=False)]}

    def ask(self, req: dict) -> dict:
        trial = self.study.ask(self.space or None)
        self.running[trial.number] = trial
        for k, v in (req.get("attrs") or {}).items():
            trial.set_user_attr(k, v)
        frozen = self.study._storage.get_trial(trial._trial_id)
        return {"number": trial.number, "params": internal(frozen)}

    def enqueue(self, req: dict) -> dict:
        params = {k: self.space[k].to_external_repr(v) for k, v in req["params"].items()}
        self.study.enqueue_trial(params, user_attrs=req.get("attrs"), skip_if_exists=False)
        return {}

    def report(self, req: dict) -> dict:
        trial = self.running[req["number"]]
        trial.report(req["value"], req["step"])
        return {"prune": trial.should_prune()}

    def attr(self, req: dict) -> dict:
        self.study._storage.set_trial_user_attr(self._trial_id(req["number"]), req["key"], req["value"])
        return {}

    def tell(self, req: dict) -> dict:
        number = req["number"]
        for k, v in (req.get("attrs") or {}).items():
            self.study._storage.set_trial_user_attr(self._trial_id(number), k, v)
        state = STATES[req["state"]]
        value = req.get("value") if state == TrialState.COMPLETE else None
        self.study.tell(number, value, state=state, skip_if_finished=True)
        self.running.pop(number, None)
        return {}

    def abandon(self, req: dict) -> dict:
        """Fails the trials left running by a magelab that died (kill -9)."""
        numbers = []
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if t.number in self.running:
                continue
            self.study._storage.set_trial_user_attr(t._trial_id, "magelab_status", "crashed")
            self.study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
            numbers.append(t.number)
        return {"numbers": numbers}

    def trials(self, req: dict) -> dict:
        return {"trials": [describe(t, self.space) for t in self.study.get_trials(deepcopy=False)]}

    def _trial_id(self, number: int) -> int:
        if number in self.running:
            return self.running[number]._trial_id
        return self.study._storage.get_trial_id_from_study_id_trial_number(self.study._study_id, number)


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    h = Helper()
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "close":
                out.write("{}\n")
                out.flush()
                return
            if op != "open" and h.study is None:
                raise ValueError(f"op {op!r} before open")
            handler = getattr(Helper, op, None) if op and not op.startswith("_") else None
            if handler is None:
                raise ValueError(f"unknown op {op!r}")
            resp = handler(h, req)
        except Exception as e:  # every failure is an answer: the sweep decides
            resp = {"error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(resp) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
