"""The asyncio corpus: the Python sources of pinned asyncio- and thread-heavy
packages from PyPI, rebuilt the same on any machine.

    python benchmarks/corpus.py        # fetch what is missing, print the root

Each package is fetched once with ``pip download --no-deps --no-binary :all:``
(the sdist: unlike most wheels it carries the package's tests, where much of
the real concurrency code lives), checked against its pinned SHA-256, and its
``.py`` files are extracted to ``<cache>/src/<name>-<version>/`` (the sdist's
top folder stripped, so paths are relative to the package root).  The cache is
``$LEAKLINT_CORPUS_DIR``, else ``~/.cache/leaklint/corpus``: outside the
repository, so neither git nor a leaklint run over the project sees it.

A second run finds every package extracted and only prints the root.  A
package that cannot be fetched costs one line on standard error and is left
out; the others are still extracted.  A folder in ``src/`` that an earlier pin
list extracted, and this one no longer names, is removed, so the root always
holds exactly the pinned packages.

``benchmarks/run.py`` and ``eval/precision.py`` import ``ensure_corpus()``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator, List, Optional, Sequence, Tuple


@dataclass(frozen=True)
class Package:
    name: str  # as pip knows it
    version: str
    sha256: str  # of the sdist
    why: str  # what concurrency it brings to the corpus

    @property
    def folder(self) -> str:
        return f"{self.name}-{self.version}"


# Every version supports Python 3.11 (Requires-Python checked when pinned).
PACKAGES: Tuple[Package, ...] = (
    Package("aiohttp", "3.14.5", "5558a7f5a05af9ecf744af91e5baefc436f93c9333e656c27ec253f9a6bbe178",
            "asyncio client and server, connection pools, background tasks"),
    Package("tornado", "6.6.1", "28e6311402af59c8b02e3fa0f5e7d8eb465b25081381803b127d97e6a4395d5a",
            "its own IOLoop over asyncio, futures, callbacks, a thread-pool resolver"),
    Package("distributed", "2026.8.0", "6f55008ecacf96ba945309fc12e680544764995e27bd63cc5e109afb97d7044d",
            "Dask's scheduler and workers: tasks, threads, processes, executors"),
    Package("celery", "5.7.0", "6a5dfcf6662287204f009a02002b9e66c83d4105e47ebabdc7079108772fc6f0",
            "worker pools, threads, timers, subprocesses"),
    Package("kombu", "5.7.0", "31e62fdfd2381caa3422f8e02b84a491d9a2180ddda74507b57f4cb1e1c2c2c9",
            "messaging: event loops, consumers, queues"),
    Package("discord.py", "2.7.1", "24d5e6a45535152e4b98148a9dd6b550d25dc2c9fb41b6d670319411641249da",
            "a long-running asyncio client: gateway, voice threads, tasks"),
    Package("textual", "8.2.8", "3f106a9fbc73e39dd266c9712432087de78a6d644084c7c241d6a25c3169115b",
            "a TUI framework: asyncio message pumps, workers, threads"),
    Package("sentry-sdk", "2.75.0", "c38ac2d4b2435c11da821e173bb9d9088c98f41ae92f559ce0e424170a8e1a29",
            "background transport threads, integrations that wrap asyncio and threads"),
    Package("anyio", "4.16.0", "59bb03251907983d1603d27c3087ddb1e93299ea2163adcdba37899a4fb12ffb",
            "structured concurrency over asyncio, worker threads and processes"),
    Package("uvicorn", "0.55.0", "b65ae5f0f30cdcbc26a104b93d7d19723aa5f46fec3915a6c247d5795449331c",
            "an ASGI server: the event loop, signal handling, worker processes"),
    Package("starlette", "1.10.0", "b8399098d4c1e3522734f7235dc79b1fc967f96cf139c81e0fa30479e0685f9b",
            "ASGI toolkit: background tasks, thread-pool offloading"),
    Package("websockets", "17.4", "09d3939b70df0c8ad2da145ebd50978bccaee1d565e838b0e7921a34d38571eb",
            "asyncio and threaded implementations of one protocol"),
)

_MARKER = ".leaklint-corpus"  # written last: a folder without it is incomplete
_PIP_TIMEOUT = 600  # seconds for one package's download


class FetchError(Exception):
    """One package cannot be had; the message is the one line users see."""


def cache_dir() -> Path:
    configured = os.environ.get("LEAKLINT_CORPUS_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "leaklint" / "corpus"


def corpus_root() -> Path:
    """Where the extracted packages are (it may not exist yet)."""
    return cache_dir() / "src"


def package_dirs(root: Optional[Path] = None) -> List[Path]:
    """The extracted folder of every pinned package that is complete."""
    root = root or corpus_root()
    return [root / package.folder for package in PACKAGES if (root / package.folder / _MARKER).is_file()]


def ensure_corpus(packages: Sequence[Package] = PACKAGES, quiet: bool = False) -> Path:
    """Fetch and extract what is missing; the corpus root.  Failures are
    printed, one line each, and the package is left out."""
    root = corpus_root()
    missing = [package for package in packages if not (root / package.folder / _MARKER).is_file()]
    _remove_unpinned(root, packages, quiet)
    for package in missing:
        try:
            archive = _download(package)
            _extract(archive, root / package.folder)
        except FetchError as error:
            print(f"corpus: {package.name}=={package.version}: {error}", file=sys.stderr)
        else:
            if not quiet:
                print(f"corpus: {package.folder} extracted", file=sys.stderr)
    return root


def _remove_unpinned(root: Path, packages: Sequence[Package], quiet: bool) -> None:
    if not root.is_dir():
        return
    pinned = {package.folder for package in packages}
    for folder in sorted(root.iterdir()):
        if folder.name not in pinned and (folder / _MARKER).is_file():
            shutil.rmtree(folder, ignore_errors=True)
            if not quiet:
                print(f"corpus: {folder.name} removed (no longer pinned)", file=sys.stderr)


def _download(package: Package) -> Path:
    """The package's sdist, downloaded unless a good copy is already here."""
    directory = cache_dir() / "downloads" / package.folder
    found = _archives(directory)
    if found and _sha256(found[0]) == package.sha256:
        return found[0]
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--disable-pip-version-check",
               "--quiet", "--dest", str(directory), f"{package.name}=={package.version}"]
    try:
        completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=_PIP_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise FetchError(f"pip download took over {_PIP_TIMEOUT} s") from None
    except OSError as error:
        raise FetchError(f"cannot run pip: {error.strerror or error}") from None
    found = _archives(directory)
    if completed.returncode != 0 or not found:
        raise FetchError(f"pip download failed: {_last_error(completed.stdout)}")
    digest = _sha256(found[0])
    if digest != package.sha256:
        raise FetchError(f"{found[0].name} has SHA-256 {digest}, pinned {package.sha256}")
    return found[0]


def _archives(directory: Path) -> List[Path]:
    if not directory.is_dir():
        return []
    return sorted(path for path in directory.iterdir() if path.name.endswith((".tar.gz", ".tgz", ".zip")))


def _last_error(output: bytes) -> str:
    lines = [line.strip() for line in output.decode("utf-8", "replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or ["no output"])[-1][:300]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _extract(archive: Path, destination: Path) -> None:
    """The archive's ``.py`` files, below its top folder, into
    ``destination``, which appears complete or not at all."""
    partial = destination.with_name(destination.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(destination, ignore_errors=True)
    try:
        count = 0
        for relative, data in _python_members(archive):
            target = partial.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            count += 1
        if not count:
            raise FetchError(f"{archive.name} holds no .py file")
        (partial / _MARKER).write_text(f"{archive.name} {_sha256(archive)}\n", encoding="utf-8")
        partial.rename(destination)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as error:
        raise FetchError(f"cannot extract {archive.name}: {getattr(error, 'strerror', None) or error}") from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _python_members(archive: Path) -> Iterator[Tuple[PurePosixPath, bytes]]:
    """(path below the top folder, bytes) of each regular ``.py`` file; a
    member whose path would leave the destination is skipped."""
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as bundle:
            for info in bundle.infolist():
                relative = _below_top(info.filename)
                if relative is not None and not info.is_dir():
                    yield relative, bundle.read(info)
        return
    with tarfile.open(archive, "r:*") as bundle:
        for member in bundle:
            relative = _below_top(member.name)
            if relative is None or not member.isfile():
                continue
            handle = bundle.extractfile(member)
            if handle is not None:
                yield relative, handle.read()


def _below_top(name: str) -> Optional[PurePosixPath]:
    parts = PurePosixPath(name).parts
    if len(parts) < 2 or not name.endswith(".py") or name.startswith("/"):
        return None
    relative = parts[1:]
    if any(part in ("", ".", "..") for part in relative):
        return None
    return PurePosixPath(*relative)


def main(argv: Optional[Sequence[str]] = None) -> int:
    if argv:
        print("usage: python benchmarks/corpus.py   (fetches the pinned packages; set LEAKLINT_CORPUS_DIR to move the cache)",
              file=sys.stderr)
        return 2
    root = ensure_corpus()
    print(root)
    return 0 if len(package_dirs(root)) == len(PACKAGES) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
