"""How fast is leaklint, compared with the bare libcst parse of the same files?

    python benchmarks/run.py [CORPUS] [--jobs N] [--only stdlib|asyncio|scaling] [--quick]

Without CORPUS it measures two corpora side by side: the standard library of
the running Python (without ``site-packages``), where half of the files never
mention a trigger and are never parsed by libcst, and the asyncio corpus
(``benchmarks/corpus.py``: pinned asyncio- and thread-heavy packages from
PyPI, fetched on first use), where nearly every file is parsed and analysed.
A CORPUS directory replaces both.  For each corpus this script:

1. lists the files leaklint checks there (its own file walker, default settings);
2. times ``libcst.parse_module`` of every one of them in one process (the files
   read beforehand): the floor a libcst-based linter stands on; and, on the
   files libcst parses anyway (some rule's trigger occurs in them), what the
   engine's pre-check with Python's own parser (``ast.parse``) costs beside it;
3. runs the ``leaklint`` command on the corpus three times, each as a
   subprocess (what users get, start-up included): one process with no cache,
   all cores with an empty cache, and all cores again with nothing changed;
4. prints seconds, lines per second, peak memory and the ratio to the bare
   parse for each, and checks that the three runs printed the same findings.

Then the scaling section: generated modules of N = 500 to 4,000 small methods
of one class (and N plain functions), each written to a file and timed in
this process as the bare parse against ``leaklint.runner.check_files`` of
that file, what the command runs for it without its start-up (one process, no
cache, the command's settings of Python's cycle collector, as in the corpus
runs above), CPU seconds, best of seven taken in turns.  The ratio must stay
flat as N grows: a cost that grows faster than the module shows here.

Last, the targets of issue 9, each met or MISSED; the exit status is 1 if one
is missed or the findings differ between runs.  ``--quick`` checks every
tenth file of each corpus and smaller modules, once each: a smoke test of the
script, not a measurement.

Peak memory is the whole run: ``getrusage`` of the leaklint process and the
workers it waited for (the largest single process; on Linux never less than
this script's own, some 40 MiB, which a child inherits), and, on Linux, the sum
of the proportional set size (PSS: shared pages counted once) over the process
tree, sampled every 20 ms; the table shows the larger.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
for entry in (str(ROOT), str(Path(__file__).resolve().parent)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import libcst  # noqa: E402

import corpus as asyncio_corpus  # noqa: E402  (benchmarks/corpus.py)
import leaklint  # noqa: E402
from leaklint import engine  # noqa: E402
from leaklint.config import Settings, load_settings  # noqa: E402
from leaklint.files import FileWalker  # noqa: E402
from leaklint.finding import FileResult  # noqa: E402
from leaklint.registry import select_rules  # noqa: E402
from leaklint.runner import check_files  # noqa: E402

RUNS = ("one process, cold", "all cores, cold", "all cores, warm")
# Issue 9: leaklint / bare parse; a run meets its target when at or below it.
TARGETS = {
    "stdlib": {"one process, cold": 0.60, "all cores, cold": 0.40, "all cores, warm": 0.02},
    "asyncio": {"one process, cold": 1.10},
}
MEMORY_TARGET_MIB = 300
SCALING_SIZES = (500, 1000, 2000, 4000)
SCALING_MAX_RATIO = 1.5  # at the largest N
SCALING_MAX_GROWTH = 1.5  # the ratio at the largest N over the ratio at the smallest
SCALING_REPEATS = 7
# A run this long is not repeated: the best of seven would only cost minutes.
SCALING_REPEAT_BUDGET = 60.0
_FINDING_LINE = re.compile(r"^.+:\d+:\d+: LL\d{3} ", re.MULTILINE)
QUICK_SAMPLE = 10  # --quick checks every tenth file
QUICK_SIZES = (100, 200, 400, 800)
MIB = 1024 * 1024


@dataclass
class CorpusRun:
    key: str  # "stdlib", "asyncio" or "path"
    title: str
    path: Path
    files: int = 0
    lines: int = 0
    # The bare parse is timed before the leaklint runs and again after them;
    # the reference is their mean (the machine's speed drifts over minutes).
    parse_seconds: float = 0.0
    parse_cpu: float = 0.0
    parse_timings: List[Tuple[float, float]] = field(default_factory=list)  # (seconds, cpu) before, after
    unparsable: int = 0
    # The pre-check: the files where a rule's text occurs, and their libcst
    # and Python parses; of them, those the rules' tree questions keep.
    matched: Dict[str, float] = field(default_factory=dict)
    runs: Dict[str, Tuple[float, Optional[float], Optional[int]]] = field(default_factory=dict)  # seconds, cpu, peak bytes
    unchecked: Dict[str, Tuple[int, int]] = field(default_factory=dict)  # files leaklint could not check, of them timed out
    findings: int = 0
    identical: bool = True


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, help="a directory to measure instead of the two default corpora")
    parser.add_argument(
        "--jobs", "-j", type=int, default=os.cpu_count() or 1, help="processes for the all-cores runs (default: all cores)"
    )
    parser.add_argument("--only", choices=("stdlib", "asyncio", "scaling"), help="measure one section only")
    parser.add_argument("--quick", action="store_true", help="every tenth file and small modules, once: a smoke test")
    parser.add_argument("--bare-parse", type=Path, metavar="FILE_LIST", help=argparse.SUPPRESS)  # the timing subprocess
    parser.add_argument("--timing-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_parse:
        return _bare_parse_subprocess(args.bare_parse, args.timing_only)

    corpora: List[CorpusRun] = []
    if args.corpus is not None:
        if args.only in ("stdlib", "asyncio"):
            parser.error("--only stdlib/asyncio measures a default corpus: give no CORPUS")
        if args.only is None:
            corpora.append(CorpusRun("path", str(args.corpus), args.corpus.resolve()))
    else:
        if args.only in (None, "stdlib"):
            corpora.append(CorpusRun("stdlib", "standard library", _stdlib()))
        if args.only in (None, "asyncio"):
            root = asyncio_corpus.ensure_corpus()
            if not asyncio_corpus.package_dirs(root):
                print("asyncio corpus: no package could be fetched; measuring without it", file=sys.stderr)
            else:
                corpora.append(CorpusRun("asyncio", "asyncio corpus", root))
    measure_scaling = args.only in (None, "scaling")

    print(f"Python {sys.version.split()[0]}, libcst {_libcst_version()}, leaklint {leaklint.__version__}, "
          f"{os.cpu_count()} cores, --jobs {args.jobs} for the all-cores runs"
          + (f"; --quick: every {QUICK_SAMPLE}th file, modules of N = {', '.join(map(str, QUICK_SIZES))}, once"
             if args.quick else ""))
    for run in corpora:
        _measure_corpus(run, args.jobs, args.quick)
    if corpora:
        _print_corpora(corpora, args.jobs)
    scaling: List[Tuple[str, int, int, float, float]] = []
    if measure_scaling:
        scaling = _measure_scaling(QUICK_SIZES if args.quick else SCALING_SIZES, 1 if args.quick else SCALING_REPEATS)
    if hasattr(os, "getloadavg"):
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
              "(other work on the machine skews the figures; compare ratios, not seconds)")
    met = _print_targets(corpora, scaling)
    return 0 if met and all(run.identical for run in corpora) else 1


def _stdlib() -> Path:
    return Path(sysconfig.get_paths()["stdlib"]).resolve()


def _libcst_version() -> str:
    try:
        from importlib.metadata import version

        return version("libcst")
    except Exception:
        return "?"


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


# --- the corpora -----------------------------------------------------------


def _measure_corpus(run: CorpusRun, jobs: int, quick: bool) -> None:
    print(f"\n{run.title}: {run.path}", flush=True)
    with tempfile.TemporaryDirectory(prefix="leaklint-bench-") as scratch:
        workdir = Path(scratch)
        config = workdir / "pyproject.toml"
        # Default settings, not those of whatever project the corpus sits in;
        # the stdlib without the third-party packages installed into it.
        excluded = '"site-packages", "dist-packages"' if run.key == "stdlib" else ""
        config.write_text(f"[tool.leaklint]\nextend-exclude = [{excluded}]\n", encoding="utf-8")
        settings = load_settings(config, cwd=workdir)
        paths = list(FileWalker(settings).files([str(run.path)]))
        if quick:
            paths = paths[::QUICK_SAMPLE]
        file_list = workdir / "files.txt"
        file_list.write_text("".join(f"{path}\n" for path in paths), encoding="utf-8")
        run.files = len(paths)
        run.lines = sum(_read(path).count(b"\n") for path in paths)
        print(f"  {run.files} files, {run.lines:,} lines", flush=True)

        timing = _time_bare_parse(file_list)
        run.parse_timings.append((timing["seconds"], timing["cpu"]))
        run.unparsable = timing["unparsable"]
        run.matched = {key: value for key, value in timing.items() if key.startswith(("matched", "kept"))}
        print(f"  bare libcst.parse_module: {timing['seconds']:.2f} s", flush=True)

        command = [sys.executable, "-m", "leaklint", "--config", str(config), "--exit-zero"]
        command += ["--files-from", str(file_list)] if quick else [str(run.path)]
        cache_dir = workdir / "cache"
        outputs: List[bytes] = []
        for label, extra in zip(RUNS, (
            ["--jobs", "1", "--no-cache"],
            ["--jobs", str(jobs), "--cache-dir", str(cache_dir)],
            ["--jobs", str(jobs), "--cache-dir", str(cache_dir)],
        )):
            seconds, cpu_seconds, largest, tree, output, errors = _run_measured(command + extra, workdir)
            peaks = [value for value in (largest, tree) if value is not None]
            run.runs[label] = (seconds, cpu_seconds, max(peaks) if peaks else None)
            problems = [line for line in errors.decode("utf-8", "replace").splitlines() if line.startswith("leaklint: error:")]
            run.unchecked[label] = (len(problems), sum("took longer than" in line for line in problems))
            outputs.append(output)
            print(f"  leaklint, {label}: {seconds:.2f} s", flush=True)
        again = _time_bare_parse(file_list, timing_only=True)
        run.parse_timings.append((again["seconds"], again["cpu"]))
        print(f"  bare libcst.parse_module, again: {again['seconds']:.2f} s", flush=True)
        run.parse_seconds = sum(seconds for seconds, _ in run.parse_timings) / len(run.parse_timings)
        run.parse_cpu = sum(cpu for _, cpu in run.parse_timings) / len(run.parse_timings)
    # ``path:line:column: LL101 ...``; the summary lines after them are not findings.
    run.findings = len(_FINDING_LINE.findall(outputs[0].decode("utf-8", "replace")))
    run.identical = all(output == outputs[0] for output in outputs)


def _time_bare_parse(file_list: Path, timing_only: bool = False) -> Dict[str, float]:
    """The bare parse, in a process of its own: on Linux a child inherits the
    peak memory of the process that starts it, and the parse must not inflate
    the leaklint runs' figures.  ``timing_only``: the seconds alone, not the
    pre-check figures."""
    command = [sys.executable, str(Path(__file__).resolve()), "--bare-parse", str(file_list)]
    output = subprocess.run(command + (["--timing-only"] if timing_only else []), check=True, stdout=subprocess.PIPE).stdout
    return json.loads(output)


def _bare_parse_subprocess(file_list: Path, timing_only: bool = False) -> int:
    """Print, as JSON, the seconds (wall and CPU) to libcst-parse every file,
    and, for the files where a default rule's text occurs, the seconds of
    their libcst parse and of Python's parser on each (the engine's first
    step for them), and the same for those that the rules' tree questions
    still send to libcst (asked without the project's view: the engine also
    sends the files the project hands something a rule judges)."""
    sources = [_read(path) for path in file_list.read_text(encoding="utf-8").splitlines()]
    rules = select_rules(Settings().select)
    unparsable = 0
    per_file: List[float] = []
    start, start_cpu = time.perf_counter(), time.process_time()
    for source in sources:
        began = time.perf_counter()
        try:
            libcst.parse_module(source)
        except Exception:
            unparsable += 1
        per_file.append(time.perf_counter() - began)
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    if timing_only:
        print(json.dumps({"seconds": seconds, "cpu": cpu, "unparsable": unparsable}))
        return 0

    # The files where a rule's text occurs, with their libcst seconds; then
    # Python's parser on each (timed) and the rules' tree questions.
    matched: List[Tuple[str, float, list]] = []  # (text, its libcst seconds, the rules whose text occurs)
    for source, libcst_seconds in zip(sources, per_file):
        try:
            text = engine.decode_source(source)
        except engine.SourceError:
            continue
        if "\0" not in text:
            candidates = engine._candidate_rules(text, rules, True)
            if candidates:
                matched.append((text, libcst_seconds, candidates))
    ast_seconds = ast_kept_seconds = libcst_kept_seconds = 0.0
    kept = 0
    for text, libcst_seconds, candidates in matched:
        began = time.perf_counter()
        try:
            tree, _ = engine._python_parse(text)
        except engine.SourceError:
            tree = None
        took = time.perf_counter() - began
        ast_seconds += took
        if tree is None or any(rule.tree_trigger()(tree, None) for rule in candidates):
            kept += 1
            ast_kept_seconds += took
            libcst_kept_seconds += libcst_seconds
    print(json.dumps({
        "seconds": seconds, "cpu": cpu, "unparsable": unparsable,
        "matched_files": len(matched), "matched_libcst": sum(libcst_seconds for _, libcst_seconds, _ in matched),
        "matched_ast": ast_seconds, "kept_files": kept, "kept_libcst": libcst_kept_seconds, "kept_ast": ast_kept_seconds,
    }))
    return 0


def _run_measured(
    command: List[str], cwd: Path
) -> Tuple[float, Optional[float], Optional[int], Optional[int], bytes, bytes]:
    """Seconds, CPU seconds, peak RSS of the largest process, peak PSS of the
    whole process tree (bytes), standard output and standard error of
    ``command``."""
    environment = dict(os.environ)
    # The leaklint this script imported, whatever is installed.
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environment.get("PYTHONPATH")]))
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        # os.wait4 below reaps the child; leaklint does not know that call.
        process = subprocess.Popen(  # noqa: LL203
            command, cwd=str(cwd), env=environment, stdout=stdout, stderr=stderr
        )
        sampler = _TreeMemorySampler(process.pid)
        sampler.start()
        largest: Optional[int] = None
        cpu_seconds: Optional[float] = None
        if hasattr(os, "wait4"):
            # wait4 gives this child's own rusage: its largest process,
            # workers included (the workers were waited for by leaklint).
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - start
            process.returncode = os.waitstatus_to_exitcode(status)
            largest = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
            cpu_seconds = usage.ru_utime + usage.ru_stime
        else:  # pragma: no cover - Windows
            process.wait()
            seconds = time.perf_counter() - start
        sampler.stop()
        if process.returncode not in (0, 1, 2):
            raise SystemExit(f"{' '.join(command)}: exit status {process.returncode}")
        stdout.seek(0)
        stderr.seek(0)
        return seconds, cpu_seconds, largest, sampler.peak, stdout.read(), stderr.read()


class _TreeMemorySampler(threading.Thread):
    """The peak, over time, of the summed PSS of a process and its descendants
    (Linux only; ``peak`` stays None elsewhere)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak: Optional[int] = None
        self._stopped = threading.Event()

    def run(self) -> None:
        if not Path(f"/proc/{self.pid}/smaps_rollup").exists():
            return
        while not self._stopped.is_set():
            total = sum(_pss(pid) for pid in _tree(self.pid))
            if total and (self.peak is None or total > self.peak):
                self.peak = total
            self._stopped.wait(0.02)

    def stop(self) -> None:
        self._stopped.set()
        self.join()


def _tree(pid: int) -> List[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    pending.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _print_corpora(corpora: List[CorpusRun], jobs: int) -> None:
    print()
    print("| run | " + " | ".join(f"{run.title}: seconds | lines/s | peak MiB | / bare parse" for run in corpora) + " |")
    print("|---|" + "---:|---:|---:|---:|" * len(corpora))
    labels = {
        "bare": "bare `libcst.parse_module`, one process (mean of two)",
        "one process, cold": "`leaklint --jobs 1 --no-cache`",
        "all cores, cold": f"`leaklint --jobs {jobs}`, empty cache",
        "all cores, warm": f"`leaklint --jobs {jobs}`, nothing changed",
    }
    for key, label in labels.items():
        cells = []
        for run in corpora:
            if key == "bare":
                seconds, peak = run.parse_seconds, None
            else:
                seconds, _, peak = run.runs[key]
            cells.append(f"{seconds:.2f} | {run.lines / seconds:,.0f} | {_mib(peak)} | {seconds / run.parse_seconds:.3f}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    for run in corpora:
        cpu = [run.parse_cpu] + [run.runs[label][1] for label in RUNS]
        print(f"{run.title}: {run.files:,} files, {run.lines:,} lines; findings: {run.findings}, identical in the "
              f"three runs: {'yes' if run.identical else 'NO'}")
        timings = run.parse_timings
        if len(timings) == 2:
            drift = abs(timings[1][1] - timings[0][1]) / min(timings[0][1], timings[1][1])
            print(f"  bare parse before and after the leaklint runs: {timings[0][0]:.2f} and {timings[1][0]:.2f} s "
                  f"({timings[0][1]:.2f} and {timings[1][1]:.2f} CPU s): the reference is their mean"
                  + (f"; the machine's speed moved by {drift:.0%} meanwhile" if drift > 0.05 else ""))
        print("  CPU seconds (bare parse, one process, all cores, warm): "
              + ", ".join("-" if value is None else f"{value:.2f}" for value in cpu)
              + (f"; one process / bare parse: {cpu[1] / cpu[0]:.3f}" if cpu[1] is not None and cpu[0] else ""))
        if run.unparsable:
            print(f"  {run.unparsable} files libcst cannot parse; both sides pay for trying")
        if any(count for count, _ in run.unchecked.values()):
            print("  files leaklint reported as not checked (of them over the 60 s limit), per run: "
                  + ", ".join(f"{count} ({timeouts})" for count, timeouts in (run.unchecked[label] for label in RUNS)))
        matched = run.matched
        if matched.get("matched_files") and matched["kept_libcst"]:
            spared = matched["matched_files"] - matched["kept_files"]
            print(f"  pre-check: a rule's text occurs in {matched['matched_files']:,.0f} files (their libcst parse: "
                  f"{matched['matched_libcst']:.2f} s); the tree questions spare {spared:,.0f} of them "
                  f"({matched['matched_libcst'] - matched['kept_libcst']:.2f} s of libcst) for "
                  f"{matched['matched_ast'] - matched['kept_ast']:.2f} s of ast.parse; on the {matched['kept_files']:,.0f} "
                  f"that libcst still parses, ast.parse costs {matched['kept_ast']:.2f} s, "
                  f"{matched['kept_ast'] / matched['kept_libcst']:.1%} of their parse")
    print("(peak MiB: the larger of the largest process, getrusage, and all processes together, PSS sampled every 20 ms)")


def _mib(value: Optional[int]) -> str:
    return "" if value is None else f"{value / MIB:.0f}"


# --- scaling ---------------------------------------------------------------

# Small methods of one class, as real services are written: calls of sibling
# methods through ``self``, tasks on the loop kept in a set, daemon threads,
# an executor, a queue with its consumer.  ``{other}`` is another method,
# spread over the whole module.  Each body is clean: the cost measured is the
# analysis every creation site needs, not the reporting.
_METHOD_BODIES = (
    "    def method_{i}(self, item):\n"
    "        value = self.method_{other}(item)\n"
    "        self._count += 1\n"
    "        return self._store.get(value)\n",
    "    async def method_{i}(self, item):\n"
    "        task = self._loop.create_task(self.method_{other}(item))\n"
    "        self._tasks.add(task)\n"
    "        task.add_done_callback(self._tasks.discard)\n",
    "    def method_{i}(self, item):\n"
    "        worker = threading.Thread(target=self.method_{other}, args=(item,), daemon=True)\n"
    "        worker.start()\n"
    "        self._workers.append(worker)\n",
    "    async def method_{i}(self, item):\n"
    "        async with self._lock:\n"
    "            result = await self.method_{other}(item)\n"
    "        return result\n",
    "    def method_{i}(self, item):\n"
    "        future = self._executor.submit(self.method_{other}, item)\n"
    "        return future.result(timeout=self._timeout)\n",
    "    def method_{i}(self, item):\n"
    "        if item is None:\n"
    "            raise ValueError(item)\n"
    "        self._queue.put(item)\n",
    "    def method_{i}(self, item):\n"
    "        got = self._queue.get(timeout=self._timeout)\n"
    "        self.method_{other}(got)\n"
    "        self._queue.task_done()\n",
)
_CLASS_HEAD = '''import asyncio
import queue
import threading
from concurrent.futures import ThreadPoolExecutor


class Service:
    def __init__(self, loop, timeout):
        self._loop = loop
        self._timeout = timeout
        self._tasks = set()
        self._workers = []
        self._store = {}
        self._count = 0
        self._lock = asyncio.Lock()
        self._queue = queue.Queue()
        self._executor = ThreadPoolExecutor(max_workers=4)

    def close(self):
        self._executor.shutdown(wait=True)
        for worker in self._workers:
            worker.join()

'''

# The same bodies as module-level functions.
_FUNCTION_BODIES = (
    "def function_{i}(item):\n"
    "    value = function_{other}(item)\n"
    "    _counts[item] = _counts.get(item, 0) + 1\n"
    "    return _store.get(value)\n",
    "async def function_{i}(item):\n"
    "    task = asyncio.get_running_loop().create_task(function_{other}(item))\n"
    "    _tasks.add(task)\n"
    "    task.add_done_callback(_tasks.discard)\n",
    "def function_{i}(item):\n"
    "    worker = threading.Thread(target=function_{other}, args=(item,), daemon=True)\n"
    "    worker.start()\n"
    "    _workers.append(worker)\n",
    "async def function_{i}(item):\n"
    "    async with _lock:\n"
    "        result = await function_{other}(item)\n"
    "    return result\n",
    "def function_{i}(item):\n"
    "    future = _executor.submit(function_{other}, item)\n"
    "    return future.result(timeout=_TIMEOUT)\n",
    "def function_{i}(item):\n"
    "    if item is None:\n"
    "        raise ValueError(item)\n"
    "    _queue.put(item)\n",
    "def function_{i}(item):\n"
    "    got = _queue.get(timeout=_TIMEOUT)\n"
    "    function_{other}(got)\n"
    "    _queue.task_done()\n",
)
_FUNCTIONS_HEAD = '''import asyncio
import atexit
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

_TIMEOUT = 5.0
_tasks = set()
_workers = []
_store = {}
_counts = {}
_lock = asyncio.Lock()
_queue = queue.Queue()
_executor = ThreadPoolExecutor(max_workers=4)
atexit.register(_executor.shutdown)

'''


# The bodies that are coroutines; they are also the ones that call their
# sibling as a coroutine (a task of it, an await).  Each body's sibling is of
# the kind its call needs, or the module would hold coroutines that are never
# awaited (LL103).
_ASYNC_BODIES = frozenset({1, 3})


def generated_module(size: int, methods: bool) -> str:
    """A module of ``size`` small methods of one class (or functions)."""
    bodies, head = (_METHOD_BODIES, _CLASS_HEAD) if methods else (_FUNCTION_BODIES, _FUNCTIONS_HEAD)
    count = len(bodies)
    kinds = {
        True: sorted(_ASYNC_BODIES),
        False: sorted(set(range(count)) - _ASYNC_BODIES),
    }
    parts = [head]
    for index in range(size):
        wanted = kinds[index % count in _ASYNC_BODIES]
        spread = (index * 7919 + 13) % size  # a sibling anywhere in the module, of the kind wanted
        other = spread - spread % count + wanted[index % len(wanted)]
        while other >= size:
            other -= count
        parts.append(bodies[index % count].format(i=index, other=max(other, 0)))
        parts.append("\n" if methods else "\n\n")
    return "".join(parts)


def _best_of_interleaved(repeats: int, parse: Callable[[], object], check: Callable[[], object]) -> Tuple[float, float]:
    """The least CPU time of ``repeats`` runs of each side, taken in turns
    (parse, check, parse, check...) so that both meet the same moments of a
    machine whose speed drifts by a fifth within a minute: all the parses
    first and all the checks after measured the drift as much as leaklint.
    CPU time, since both sides are single-threaded and CPU-bound, and it
    moves less than wall time with the other work on a shared machine."""
    best = [float("inf"), float("inf")]
    spent = 0.0
    for _ in range(repeats):
        for side, action in enumerate((parse, check)):
            began = time.process_time()
            action()
            elapsed = time.process_time() - began
            best[side] = min(best[side], elapsed)
            spent += elapsed
        if spent > 2 * SCALING_REPEAT_BUDGET:
            break
    return best[0], best[1]


def _measure_module(directory: Path, settings: Settings, variant: str, methods: bool, size: int, repeats: int) -> Tuple[str, int, int, float, float]:
    source = generated_module(size, methods)
    lines = source.count("\n")
    path = directory / f"generated_{'methods' if methods else 'functions'}_{size}.py"
    path.write_text(source, encoding="utf-8")
    results: List[FileResult] = []

    def check() -> None:
        results[:] = check_files([str(path)], settings, jobs=1, use_cache=False, timeout=None)

    parse_seconds, check_seconds = _best_of_interleaved(repeats, lambda: libcst.parse_module(source), check)
    result = results[0]
    problems = f"; NOT CHECKED: {'; '.join(result.problems)}" if result.problems else ""
    print(f"  {variant}, N = {size}: {lines:,} lines, parse {parse_seconds:.3f} s, leaklint {check_seconds:.3f} s (CPU), "
          f"{len(result.findings)} findings{problems}", flush=True)
    return variant, size, lines, parse_seconds, check_seconds


def _measure_scaling(sizes: Sequence[int], repeats: int) -> List[Tuple[str, int, int, float, float]]:
    """(variant, N, lines, parse seconds, check seconds) for each module."""
    rows = []
    print(f"\nscaling: generated modules, bare libcst.parse_module vs leaklint.runner.check_files of the file in this process "
          f"(the command without its start-up), CPU seconds, best of {repeats} taken in turns "
          f"(fewer once one side's runs took {SCALING_REPEAT_BUDGET:.0f} s)", flush=True)
    with tempfile.TemporaryDirectory(prefix="leaklint-scaling-") as directory:
        settings = Settings(root=Path(directory))
        warm_up = Path(directory) / "warm_up.py"
        warm_up.write_text(generated_module(10, True), encoding="utf-8")
        check_files([str(warm_up)], settings, jobs=1, use_cache=False)  # imports and compiled patterns
        for variant, methods in (("methods of one class", True), ("module-level functions", False)):
            for size in sizes:
                rows.append(_measure_module(Path(directory), settings, variant, methods, size, repeats))
    print()
    print("| module | N | lines | bare parse, CPU s | leaklint, CPU s | / bare parse |")
    print("|---|---:|---:|---:|---:|---:|")
    for variant, size, lines, parse_seconds, check_seconds in rows:
        print(f"| {variant} | {size:,} | {lines:,} | {parse_seconds:.3f} | {check_seconds:.3f} | "
              f"{check_seconds / parse_seconds:.2f} |")
    return rows


# --- targets ---------------------------------------------------------------


def _print_targets(corpora: List[CorpusRun], scaling: List[Tuple[str, int, int, float, float]]) -> bool:
    print("\ntargets (issue 9):")
    met = True

    def verdict(label: str, value: float, limit: float, digits: int = 3) -> None:
        nonlocal met
        ok = value <= limit
        met &= ok
        print(f"  {label:<56} {value:>8.{digits}f} <= {limit:<6} {'met' if ok else 'MISSED'}")

    for run in corpora:
        for label, limit in TARGETS.get(run.key, {}).items():
            verdict(f"{run.title}, {label}", run.runs[label][0] / run.parse_seconds, limit)
        peaks = [peak for _, _, peak in run.runs.values() if peak is not None]
        if peaks:
            verdict(f"{run.title}, peak memory (MiB)", max(peaks) / MIB, MEMORY_TARGET_MIB, digits=0)
        if not run.identical:
            met = False
            print(f"  {run.title}: the three runs printed different findings   MISSED")
    variants = sorted({row[0] for row in scaling}, key=[row[0] for row in scaling].index)
    for variant in variants:
        rows = [row for row in scaling if row[0] == variant]
        smallest, largest = rows[0], rows[-1]
        ratio_small = smallest[4] / smallest[3]
        ratio_large = largest[4] / largest[3]
        verdict(f"{variant}, ratio at N = {largest[1]:,}", ratio_large, SCALING_MAX_RATIO)
        verdict(f"{variant}, ratio N = {largest[1]:,} / N = {smallest[1]:,}", ratio_large / ratio_small, SCALING_MAX_GROWTH)
    return met


if __name__ == "__main__":
    sys.exit(main())
