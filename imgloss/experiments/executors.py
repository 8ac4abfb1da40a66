"""Where an experiment's runs are trained: a pool of processes on this machine, or a Slurm
cluster through submitit.

Both executors take the experiment's unfinished runs (finished ones are never submitted again) and
train each with :func:`imgloss.experiments.runner.run_one`, so run folders, locks, resumption and
summaries are the same as for a run in this process.

* :func:`run_local` runs ``workers`` runs at a time, each an ``imgloss train`` process. With GPUs
  it is GPU-aware: the slots are spread over the GPUs round-robin (``workers`` = the number of
  GPUs gives one run per GPU; more workers share them). Each run's output goes to a log file.
* :func:`submit_slurm` submits one Slurm job array, one task per unfinished run, with the
  resources of :class:`SlurmOptions`. A task that is preempted or reaches its time limit is
  requeued by submitit's checkpointing and resumes from the run's last checkpoint; submitting
  again only resubmits the runs that are neither finished nor queued nor running.
* :func:`run_states` says, per run, whether it is finished, queued, running, failed (with the path
  of its log), interrupted (a checkpoint and no job) or not started, from the run folders and
  ``squeue`` (it needs no Slurm accounting database).

:func:`run_pool` and :func:`run_on_slurm` are ``imgloss run --workers N`` and ``imgloss run
--executor slurm``: the unfinished runs, trained, and the experiments' summaries written. Every
function works in one :class:`imgloss.results.workspace.Workspace` (results folder, data, device,
progress), which each job carries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgloss.core.errors import InputError, UserError
from imgloss.core.provenance import write_json
from imgloss.design.experiments import Profile, RunSpec, unique_runs
from imgloss.results.records import SourceFolder
from imgloss.results.workspace import Workspace

#: Run states reported by :func:`run_states`.
STATES = ("finished", "queued", "running", "failed", "interrupted", "not started")


@dataclass(frozen=True)
class Job:
    """One run as an executor trains it, in its workspace."""

    run: RunSpec
    profile: Profile
    ws: Workspace

    def folder(self) -> Path:
        from imgloss.experiments.runner import run_dir

        return run_dir(self.ws, self.run, self.profile)

    def train_args(self, *, progress: bool | None = None) -> list[str]:
        """The ``imgloss train`` command line of this run (for a process of its own; the one
        spelling of ``imgloss run --list``, the local pool and Slurm). ``progress``: whether the
        process shows progress (default: as the workspace)."""
        ws = self.ws
        args = ["train", *run_args(self.run), "--profile", self.profile.name]
        args += ["--results", str(ws.results)]
        args += ["--root", str(ws.root)] if ws.root is not None else []
        args += ["--device", ws.device] if ws.device else []
        return args + ([] if (ws.progress if progress is None else progress) else ["--no-progress"])


def jobs_of(
    experiments: list[str] | tuple[str, ...],
    profile: Profile,
    ws: Workspace,
    tasks: list[str] | None = None,
) -> list[Job]:
    """Every run of ``experiments`` as a job, in design order, each once."""
    return [Job(run, profile, ws) for run in unique_runs(experiments, profile, tasks)]


def train_commands(
    experiments: list[str] | tuple[str, ...],
    profile: Profile,
    ws: Workspace,
    tasks: list[str] | None = None,
) -> list[str]:
    """One shell-quoted ``imgloss train`` command per run of ``experiments`` (each run once):
    ``imgloss run --list``, to launch them as processes of their own."""
    jobs = jobs_of(experiments, profile, ws, tasks)
    return [shlex.join(["imgloss", *job.train_args()]) for job in jobs]


def run_args(run: RunSpec) -> list[str]:
    """The options of ``imgloss train`` that name ``run``: task, losses, alpha, seed, patch,
    network, extension (one spelling for the pool, Slurm and ``imgloss run --list``)."""
    args = ["--task", run.task, "--loss", *(n for n, _ in run.losses)]
    alpha = dict(run.losses[-1][1]).get("alpha")
    args += ["--alpha", f"{alpha:g}"] if alpha is not None else []
    args += ["--seed", str(run.seed)]
    args += ["--patch", str(run.patch)] if run.patch is not None else []
    args += ["--network", run.network] if run.network is not None else []
    return args + (["--extend"] if run.extended else [])


class TrainRun:
    """The callable a Slurm task runs: train one run (or reuse it, if finished). On preemption
    or at the time limit submitit calls ``checkpoint``, which requeues the same call; the
    run then resumes from its last checkpoint."""

    def __call__(self, job: Job) -> str:
        from imgloss.experiments.runner import run_one

        folder = run_one(job.run, job.profile, dataclasses.replace(job.ws, progress=False))
        return str(folder)

    def checkpoint(self, job: Job):
        import submitit

        return submitit.helpers.DelayedSubmission(self, job)


def pending_jobs(
    experiments: list[str] | tuple[str, ...],
    profile: Profile,
    ws: Workspace,
    tasks: list[str] | None = None,
) -> list[Job]:
    """The runs of ``experiments`` that are not finished in the workspace ``ws`` (each once,
    single-phase runs first: a switching run continues from one of them)."""
    from imgloss.experiments.runner import finished_record

    jobs = jobs_of(experiments, profile, ws, tasks)
    pending = [job for job in jobs if finished_record(job.folder()) is None]
    return sorted(pending, key=lambda j: len(j.run.losses))


def _log_path(folder: SourceFolder, profile: str, job: Job) -> Path:
    return folder.path / "logs" / profile / f"{job.run.task}-{job.run.label}-seed{job.run.seed}.log"


def gpu_slots(workers: int, gpus: list[str] | None) -> list[str | None]:
    """The GPU (a ``CUDA_VISIBLE_DEVICES`` value) of each of ``workers`` slots: round-robin over
    ``gpus``; ``None`` everywhere without GPUs."""
    if not gpus:
        return [None] * workers
    return [gpus[i % len(gpus)] for i in range(workers)]


def run_local(
    jobs: list[Job],
    *,
    workers: int = 1,
    gpus: list[str] | None = None,
) -> dict[Job, int]:
    """Train ``jobs`` (of one workspace) ``workers`` at a time, each as an ``imgloss train``
    process; return each job's exit status (0: finished). ``gpus`` are ``CUDA_VISIBLE_DEVICES``
    values shared round-robin by the slots. With the workspace's progress on, a line says how
    each run ended. Interrupted (Ctrl-C, SIGTERM), it stops the processes it started; their
    runs resume from their checkpoints next time."""
    if not (isinstance(workers, int) and workers >= 1):
        raise InputError(f"--workers must be a positive integer, got {workers!r}")
    folder = jobs[0].ws.folder if jobs else None
    progress = jobs[0].ws.progress if jobs else False
    slots = list(enumerate(gpu_slots(workers, gpus)))
    free = list(reversed(slots))
    lock = threading.Lock()
    procs: set[subprocess.Popen] = set()
    status: dict[Job, int] = {}
    stopping = threading.Event()  # set by an interrupt: no run starts after it

    def one(job: Job) -> None:
        if stopping.is_set():
            return
        with lock:
            slot, gpu = free.pop()
        env = dict(os.environ)
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = gpu
        assert folder is not None  # there are jobs
        log = _log_path(folder, job.profile.name, job)
        log.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "imgloss.cli", *job.train_args(progress=False)]
        try:
            with open(log, "w") as out:
                out.write("$ " + shlex.join(command) + "\n")
                out.flush()
                with lock:
                    if stopping.is_set():
                        return
                    proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
                    procs.add(proc)
                code = proc.wait()
            with lock:
                procs.discard(proc)
            status[job] = code
            if progress:
                state = "finished" if code == 0 else f"FAILED (exit {code}), log: {log}"
                print(f"[{job.run.task} {job.run.label} seed {job.run.seed}] {state}", flush=True)
        finally:
            with lock:
                free.append((slot, gpu))

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop) if _main_thread() else None
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        for future in [pool.submit(one, job) for job in jobs]:
            future.result()
    except KeyboardInterrupt:
        stopping.set()  # before anything else: a freed slot must not start the next run
        pool.shutdown(wait=False, cancel_futures=True)
        with lock:
            for proc in procs:
                proc.terminate()
        raise
    finally:
        pool.shutdown(wait=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return status


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


# ----------------------------------------------------------------------------------- Slurm
class SlurmSubmitError(InputError):
    """``sbatch`` refused the job array (the message has Slurm's reason and the options)."""


@dataclass(frozen=True)
class SlurmOptions:
    """The resources of each Slurm task (one run) and of the job array."""

    partition: str | None = None
    gpus: int = 0  # GPUs per task
    cpus: int = 2  # CPUs per task
    mem_gb: float = 8.0  # memory per task
    time_min: int = 120  # time limit per task; a task that reaches it is requeued and resumes
    account: str | None = None
    qos: str | None = None
    array_parallelism: int = 32  # how many tasks of the array may run at once

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> SlurmOptions:
        """Options from a TOML file (keys as the fields; a ``[slurm]`` table or top level)."""
        import tomllib

        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise InputError(f"--slurm-config {path}: cannot read it as TOML ({err})") from None
        data = data.get("slurm", data)
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise InputError(
                f"--slurm-config {path}: unknown option(s) {unknown}; known: {sorted(fields)}"
            )
        return cls(**data)

    def with_overrides(self, **given) -> SlurmOptions:
        """These options with the ``given`` ones that are not ``None`` replacing them."""
        return dataclasses.replace(self, **{k: v for k, v in given.items() if v is not None})

    def submitit_parameters(self) -> dict:
        params = {
            "slurm_partition": self.partition,
            "gpus_per_node": self.gpus or None,
            "cpus_per_task": self.cpus,
            "mem_gb": self.mem_gb,
            "timeout_min": self.time_min,
            "slurm_account": self.account,
            "slurm_qos": self.qos,
            "slurm_array_parallelism": self.array_parallelism,
            "slurm_signal_delay_s": 60,
        }
        return {k: v for k, v in params.items() if v is not None}


def slurm_folder(ws: Workspace, profile: str) -> Path:
    """Where submitit keeps a profile's job files and logs, and our index of job ids."""
    return ws.folder.path / "slurm" / profile


def _index_path(ws: Workspace, profile: str) -> Path:
    return slurm_folder(ws, profile) / "jobs.json"


def _read_index(path: Path) -> dict[str, str]:
    import json

    if not path.is_file():
        return {}
    try:
        return dict(json.loads(path.read_text()))
    except (ValueError, TypeError):
        from imgloss.results.records import ResultsFileError

        raise ResultsFileError(path, "not valid JSON", "delete it and submit again") from None


def submit_slurm(jobs: list[Job], options: SlurmOptions, *, executor=None) -> list[str]:
    """Submit the ``jobs`` (of one workspace) that are not already queued or running as one job
    array; return the Slurm job ids of the new tasks (``executor``: a submitit executor, for
    tests)."""
    import submitit

    if not jobs:
        return []
    ws, profile = jobs[0].ws, jobs[0].profile.name
    index_path = _index_path(ws, profile)
    index = _read_index(index_path)
    live = _squeue_states()
    base = ws.folder.path
    todo = []
    for job in jobs:
        key = job.folder().relative_to(base).as_posix()
        if live.get(index.get(key, "")) in ("queued", "running"):
            continue
        todo.append((key, job))
    if not todo:
        return []
    if executor is None:
        _require_slurm()
        executor = submitit.AutoExecutor(folder=slurm_folder(ws, profile) / "%j")
    executor.update_parameters(**options.submitit_parameters(), name=f"imgloss-{profile}")
    try:  # submitit prints sbatch's complaint too; it is part of our one-line error instead
        with contextlib.redirect_stderr(io.StringIO()):
            submitted = executor.map_array(TrainRun(), [job for _, job in todo])
    except submitit.core.utils.FailedJobError as err:
        reason = "; ".join(line for line in str(err).splitlines() if line.strip())
        raise SlurmSubmitError(
            f"Slurm refused the job array ({reason}): adjust --partition, --mem-gb, "
            "--cpus-per-run, --gpus-per-run or --time-min (or --slurm-config)"
        ) from None
    for (key, _), sj in zip(todo, submitted, strict=True):
        index[key] = str(sj.job_id)
    write_json(index_path, index)
    return [str(sj.job_id) for sj in submitted]


class SlurmMissingError(UserError, RuntimeError):
    """``--executor slurm`` on a machine without Slurm's commands."""


def _require_slurm() -> None:
    """Refuse, before anything is written or started, where ``sbatch`` is not on the PATH
    (submitit's automatic executor would silently run the jobs as local processes)."""
    if shutil.which("sbatch") is None:
        raise SlurmMissingError(
            "--executor slurm: Slurm's sbatch is not on this machine's PATH; run on a Slurm "
            "login node, or train here with --executor local (--workers N for a pool)"
        )


def _squeue_states() -> dict[str, str]:
    """``{job id: "queued" | "running"}`` of this user's jobs in the queue (empty without
    Slurm). Array tasks are listed as ``<array id>_<task>``."""
    try:
        done = subprocess.run(
            ["squeue", "-h", "-r", "-u", _user(), "-o", "%i|%T"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    out = {}
    for line in done.stdout.splitlines():
        job_id, _, state = line.partition("|")
        if state in ("PENDING", "REQUEUED", "REQUEUE_HOLD", "CONFIGURING", "SUSPENDED"):
            out[job_id.strip()] = "queued"
        elif state:
            out[job_id.strip()] = "running"
    return out


def _user() -> str:
    import getpass

    return getpass.getuser()


@dataclass(frozen=True)
class RunState:
    """A run's state, with its Slurm job id and log where it has them."""

    job: Job
    folder: Path
    state: str
    job_id: str | None = None
    log: Path | None = None


def run_states(
    experiments: list[str] | tuple[str, ...],
    profile: Profile,
    ws: Workspace,
    tasks: list[str] | None = None,
) -> list[RunState]:
    """The state of every run of ``experiments`` in the workspace ``ws`` (see :data:`STATES`)."""
    from imgloss.experiments.runner import CHECKPOINT, finished_record

    index = _read_index(_index_path(ws, profile.name))
    live = _squeue_states()
    base = ws.folder.path
    out = []
    for job in jobs_of(experiments, profile, ws, tasks):
        folder = job.folder()
        job_id = index.get(folder.relative_to(base).as_posix())
        out.append(_state(job, folder, job_id, live, finished_record, CHECKPOINT))
    return out


def _state(job, folder, job_id, live, finished_record, checkpoint_name) -> RunState:
    if finished_record(folder) is not None:
        return RunState(job, folder, "finished", job_id)
    log = _slurm_log(job, job_id) if job_id else _local_log(job)
    if job_id and job_id in live:
        return RunState(job, folder, live[job_id], job_id, log)
    if job_id and _failed(job, job_id):
        return RunState(job, folder, "failed", job_id, log)
    if (folder / checkpoint_name).is_file():
        return RunState(job, folder, "interrupted", job_id, log)
    if log is not None and log.is_file() and not job_id:
        return RunState(job, folder, "failed", None, log)
    return RunState(job, folder, "not started", job_id, log)


def _task_file(job: Job, job_id: str, suffix: str) -> Path | None:
    """A file submitit wrote for the Slurm task ``job_id`` (``<id>/<id>_0_<suffix>``)."""
    path = slurm_folder(job.ws, job.profile.name) / job_id / f"{job_id}_0_{suffix}"
    return path if path.is_file() else None


def _slurm_log(job: Job, job_id: str) -> Path:
    return slurm_folder(job.ws, job.profile.name) / job_id / f"{job_id}_0_log.err"


def _local_log(job: Job) -> Path | None:
    log = _log_path(job.ws.folder, job.profile.name, job)
    return log if log.is_file() else None


def _failed(job: Job, job_id: str) -> bool:
    """Whether submitit recorded an error for the task. Its result file is a pickle of
    ``("success", ...)`` or ``("error", traceback)``; only its first bytes are read (a pickle
    from a results folder is never loaded)."""
    result = _task_file(job, job_id, "result.pkl")
    if result is None:
        return False
    head = result.read_bytes()[:64]
    return b"success" not in head


def wait(
    experiments: list[str] | tuple[str, ...],
    profile: Profile,
    ws: Workspace,
    tasks: list[str] | None = None,
    *,
    poll_s: float = 5.0,
    timeout_s: float | None = None,
) -> list[RunState]:
    """Poll until no run of ``experiments`` is queued or running; return the final states."""
    start = time.monotonic()
    while True:
        states = run_states(experiments, profile, ws, tasks)
        if not any(s.state in ("queued", "running") for s in states):
            return states
        if timeout_s is not None and time.monotonic() - start > timeout_s:
            return states
        time.sleep(poll_s)


def describe_states(states: list[RunState], *, failed_only: bool = False) -> list[str]:
    """One line per run (``imgloss status``): task, schedule, seed, state, Slurm job and the
    log of a failed run; then the count of each state. ``failed_only``: leave finished runs
    out of the lines (not of the counts)."""
    from collections import Counter

    lines = []
    for s in states:
        if failed_only and s.state == "finished":
            continue
        where = f"  job {s.job_id}" if s.job_id else ""
        log = f"  log: {s.log}" if s.log is not None and s.state == "failed" else ""
        lines.append(
            f"{s.job.run.task:<9s} {s.job.run.label:<14s} seed {s.job.run.seed}  "
            f"{s.state}{where}{log}"
        )
    counts = Counter(s.state for s in states)
    lines.append(", ".join(f"{n} {state}" for state, n in counts.items()) or "no runs")
    return lines


# ------------------------------------------------------------------ `imgloss run` on executors
def run_pool(
    experiments: list[str] | tuple[str, ...],
    profile: Profile,
    ws: Workspace,
    *,
    tasks: list[str] | None = None,
    workers: int = 1,
    gpus: list[str] | None = None,
    say: Callable[[str], Any] = print,
) -> int:
    """Train the unfinished runs of ``experiments`` on a pool of ``workers`` processes
    (:func:`run_local`), then write the summaries; return 0 if every run finished, else 1."""
    from imgloss.experiments.runner import save_summaries

    jobs = pending_jobs(experiments, profile, ws, tasks)
    print(f"data: {ws.source.describe()}; {len(jobs)} runs not finished", file=sys.stderr)
    status = run_local(jobs, workers=workers, gpus=gpus)
    save_summaries(experiments, profile, ws, say=say)
    return 1 if any(code != 0 for code in status.values()) else 0


def run_on_slurm(
    experiments: list[str] | tuple[str, ...],
    profile: Profile,
    ws: Workspace,
    options: SlurmOptions,
    *,
    tasks: list[str] | None = None,
    wait_for_jobs: bool = False,
    status_command: str = "imgloss status",
    say: Callable[[str], Any] = print,
) -> int:
    """Submit the unfinished runs of ``experiments`` to Slurm (:func:`submit_slurm`) and write
    the summaries of what is finished; with ``wait_for_jobs``, wait for the jobs first and say
    which failed. Returns 0, or 1 when a run waited for did not finish."""
    from imgloss.experiments.runner import save_summaries

    jobs = pending_jobs(experiments, profile, ws, tasks)
    print(f"data: {ws.source.describe()}; {len(jobs)} runs not finished", file=sys.stderr)
    ids = submit_slurm(jobs, options)
    say(f"submitted {len(ids)} runs to Slurm" + (f" (jobs {ids[0]} ... {ids[-1]})" if ids else ""))
    if not wait_for_jobs:
        say(
            f"watch them with `{status_command}`; run this command again to resubmit what "
            "failed and to write the summaries"
        )
        save_summaries(experiments, profile, ws, say=say)
        return 0
    states = wait(experiments, profile, ws, tasks)
    save_summaries(experiments, profile, ws, say=say)
    for line in describe_states(states, failed_only=True):
        say(line)
    return 0 if all(s.state == "finished" for s in states) else 1
