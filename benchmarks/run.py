"""How fast is leaklint, compared with the bare libcst parse of the same files?

    python benchmarks/run.py [CORPUS] [--jobs N]

CORPUS defaults to the standard library of the running Python (without
``site-packages``).  In one run this script:

1. lists the files leaklint checks there (its own file walker, default settings);
2. times ``libcst.parse_module`` of every one of them in one process (the files
   read beforehand): the floor a libcst-based linter stands on;
3. runs the ``leaklint`` command on the corpus three times, each as a
   subprocess (what users get, start-up included): one process with no cache,
   all cores with an empty cache, and all cores again with nothing changed;
4. prints seconds, lines per second, peak memory and the ratio to the bare
   parse for each, checks them against the targets, and checks that the three
   runs printed the same findings.

Peak memory is the whole run: ``getrusage`` of the leaklint process and the
workers it waited for (the largest single process; on Linux never less than
this script's own, some 40 MiB, which a child inherits), and, on Linux, the sum
of the proportional set size (PSS: shared pages counted once) over the process
tree, sampled every 20 ms.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import libcst  # noqa: E402

import leaklint  # noqa: E402
from leaklint.config import load_settings  # noqa: E402
from leaklint.files import FileWalker  # noqa: E402

# leaklint / bare parse, and MiB; a run meets its target when at or below it.
TARGETS = {"one process, cold": 1.0, "all cores, cold": 0.6, "all cores, warm": 0.05}
MEMORY_TARGET_MIB = 300
MIB = 1024 * 1024


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, help="directory to check (default: the standard library)")
    parser.add_argument(
        "--jobs", "-j", type=int, default=os.cpu_count() or 1, help="processes for the all-cores runs (default: all cores)"
    )
    parser.add_argument("--bare-parse", type=Path, metavar="FILE_LIST", help=argparse.SUPPRESS)  # the timing subprocess
    args = parser.parse_args(argv)
    if args.bare_parse:
        return _bare_parse_subprocess(args.bare_parse)
    corpus = (args.corpus or _stdlib()).resolve()
    with tempfile.TemporaryDirectory(prefix="leaklint-bench-") as scratch:
        workdir = Path(scratch)
        config = workdir / "pyproject.toml"
        # Default settings, not those of whatever project the corpus sits in;
        # the stdlib without the third-party packages installed into it.
        excluded = '"site-packages", "dist-packages"' if args.corpus is None else ""
        config.write_text(f"[tool.leaklint]\nextend-exclude = [{excluded}]\n", encoding="utf-8")
        settings = load_settings(config, cwd=workdir)
        paths = list(FileWalker(settings).files([str(corpus)]))
        lines = sum(_read(path).count(b"\n") for path in paths)
        print(f"corpus: {corpus}")
        print(f"        {len(paths)} files, {lines} lines; Python {sys.version.split()[0]}, libcst {_libcst_version()}, "
              f"leaklint {leaklint.__version__}, {os.cpu_count()} cores, --jobs {args.jobs} for the all-cores runs")
        print()

        parse_seconds, parse_cpu, unparsable = _time_bare_parse(paths, workdir)
        rows = [("bare libcst.parse_module", parse_seconds, None, None)]
        cpu = [parse_cpu]
        command = [sys.executable, "-m", "leaklint", "--config", str(config), "--exit-zero", str(corpus)]
        cache_dir = workdir / "cache"
        outputs: List[bytes] = []
        for label, extra in (
            ("one process, cold", ["--jobs", "1", "--no-cache"]),
            ("all cores, cold", ["--jobs", str(args.jobs), "--cache-dir", str(cache_dir)]),
            ("all cores, warm", ["--jobs", str(args.jobs), "--cache-dir", str(cache_dir)]),
        ):
            seconds, cpu_seconds, largest, tree, output = _run_measured(command + extra, workdir)
            rows.append((label, seconds, largest, tree))
            cpu.append(cpu_seconds)
            outputs.append(output)

    _print_table(rows, lines, parse_seconds)
    print("CPU seconds (all processes; less sensitive to other work on the machine): "
          + ", ".join("-" if value is None else f"{value:.2f}" for value in cpu)
          + f"; one process / bare parse: {cpu[1] / cpu[0]:.3f}" if cpu[1] is not None else "")
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
        print(f"load average at the end: {load:.1f} on {os.cpu_count()} cores (other work on the machine skews the figures)")
    if unparsable:
        print(f"\n({unparsable} files libcst cannot parse are in the corpus; both sides pay for trying.)")
    findings = outputs[0].decode("utf-8", "replace").strip().splitlines()
    same = all(output == outputs[0] for output in outputs)
    print(f"\nfindings: {len(findings) - 1 if findings else 0} reported; identical in the three runs: {'yes' if same else 'NO'}")
    met = _print_targets(rows, parse_seconds)
    return 0 if same and met else 1


def _stdlib() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


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


def _time_bare_parse(paths: List[str], workdir: Path) -> Tuple[float, int]:
    """Seconds to parse every file, in a process of its own: on Linux a child
    inherits the peak memory of the process that starts it, and the parse must
    not inflate the leaklint runs' figures."""
    file_list = workdir / "files.txt"
    file_list.write_text("\n".join(paths), encoding="utf-8")
    output = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--bare-parse", str(file_list)],
        check=True,
        stdout=subprocess.PIPE,
    ).stdout.split()
    return float(output[0]), float(output[1]), int(output[2])


def _bare_parse_subprocess(file_list: Path) -> int:
    sources = [_read(path) for path in file_list.read_text(encoding="utf-8").splitlines()]
    unparsable = 0
    start, start_cpu = time.perf_counter(), time.process_time()
    for source in sources:
        try:
            libcst.parse_module(source)
        except Exception:
            unparsable += 1
    print(time.perf_counter() - start, time.process_time() - start_cpu, unparsable)
    return 0


def _run_measured(command: List[str], cwd: Path) -> Tuple[float, Optional[float], Optional[int], Optional[int], bytes]:
    """Seconds, CPU seconds, peak RSS of the largest process, peak PSS of the
    whole process tree (bytes), and standard output of ``command``."""
    environment = dict(os.environ)
    # The leaklint this script imported, whatever is installed.
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environment.get("PYTHONPATH")]))
    with tempfile.TemporaryFile() as stdout:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=str(cwd), env=environment, stdout=stdout, stderr=subprocess.DEVNULL)
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
        return seconds, cpu_seconds, largest, sampler.peak, stdout.read()


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


def _print_table(rows, lines: int, parse_seconds: float) -> None:
    print(f"{'run':<26} {'seconds':>8} {'lines/s':>9} {'peak MiB':>9} {'tree MiB':>9} {'/ parse':>8}")
    for label, seconds, largest, tree in rows:
        name = label if label.startswith("bare") else f"leaklint: {label}"
        print(
            f"{name:<26} {seconds:>8.2f} {lines / seconds:>9.0f} {_mib(largest):>9} {_mib(tree):>9} "
            f"{seconds / parse_seconds:>8.3f}"
        )
    print("(peak MiB: the largest process, getrusage; tree MiB: all processes together, PSS sampled every 20 ms)")


def _mib(value: Optional[int]) -> str:
    return "-" if value is None else f"{value / MIB:.0f}"


def _print_targets(rows, parse_seconds: float) -> bool:
    print("\ntargets:")
    met = True
    for label, seconds, largest, tree in rows[1:]:
        ratio = seconds / parse_seconds
        ok = ratio <= TARGETS[label]
        met &= ok
        print(f"  {label:<20} ratio {ratio:.3f} <= {TARGETS[label]:<5} {'met' if ok else 'MISSED'}")
    memory = max(value for row in rows[1:] for value in (row[2], row[3]) if value is not None) if rows[1:] else None
    if memory is not None:
        ok = memory < MEMORY_TARGET_MIB * MIB
        met &= ok
        print(f"  peak memory          {memory / MIB:.0f} MiB < {MEMORY_TARGET_MIB} MiB   {'met' if ok else 'MISSED'}")
    return met


if __name__ == "__main__":
    sys.exit(main())
