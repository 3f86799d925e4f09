"""Module summaries and the project index: facts about a project's own
functions and classes, resolved across modules."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from leaklint.analysis import project as project_module
from leaklint.analysis.creations import CHILD_PROCESS, EXECUTOR, QUEUE, TASK, WORKER
from leaklint.analysis.project import CLASS, EXTERNAL, FUNCTION, ProjectIndex
from leaklint.analysis.summary import ModuleSummary, Returned, summarize
from leaklint.summary_cache import SummaryCache, write_index
from tests.expectations import FIXTURES

PACKAGE = FIXTURES / "project"


def summary_of(source: str) -> ModuleSummary:
    return summarize(textwrap.dedent(source))


def write_tree(root: Path, files: dict) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


# -- one module's summary ---------------------------------------------------------------


def test_functions_returning_fresh_handles_and_their_kind():
    summary = summary_of(
        """
        import asyncio, subprocess, queue
        import concurrent.futures as cf
        from threading import Thread

        def spawn(coro):
            return asyncio.create_task(coro)

        def on_loop(loop, coro):
            return loop.create_task(coro)

        def fresh_loop(coro):
            return asyncio.get_event_loop().run_in_executor(None, coro)

        def pool():
            return cf.ThreadPoolExecutor(4)

        def child(argv):
            return subprocess.Popen(argv)

        def inbox():
            return queue.Queue()

        def started():
            worker = Thread(target=print)
            worker.name = "w"
            worker.start()
            return worker

        def unstarted():
            return Thread(target=print)

        def serving():
            return Thread(target=serve)

        def serve():
            while True:
                handle_one()

        spawn_quickly = lambda coro: asyncio.create_task(coro)
        """
    )
    returns = {name: facts.returns for name, facts in summary.functions.items()}
    assert returns == {
        "spawn": Returned(TASK, "asyncio.create_task"),
        "on_loop": Returned(TASK, "loop.create_task"),
        "fresh_loop": Returned(TASK, "loop.run_in_executor"),
        "pool": Returned(EXECUTOR, "concurrent.futures.ThreadPoolExecutor"),
        "child": Returned(CHILD_PROCESS, "subprocess.Popen"),
        "inbox": Returned(QUEUE, "queue.Queue"),
        "started": Returned(WORKER, "threading.Thread", started=True),
        "unstarted": Returned(WORKER, "threading.Thread", started=False),
        "serving": Returned(WORKER, "threading.Thread", long_lived=True),
        "serve": None,
        "spawn_quickly": Returned(TASK, "asyncio.create_task"),
    }


def test_a_handle_that_is_kept_released_or_may_be_a_daemon_is_not_fresh():
    summary = summary_of(
        """
        import asyncio, functools, threading

        TASKS = set()

        def kept(coro):
            task = asyncio.create_task(coro)
            TASKS.add(task)
            return task

        def waited(argv):
            import subprocess
            child = subprocess.Popen(argv)
            child.wait()
            return child

        def daemon():
            return threading.Thread(target=print, daemon=True)

        def daemon_later():
            worker = threading.Thread(target=print)
            worker.daemon = True
            return worker

        def options(**kwargs):
            return threading.Thread(**kwargs)

        def sometimes(coro, eager):
            if eager:
                return None
            return asyncio.create_task(coro)

        @functools.lru_cache(maxsize=None)
        def shared_pool():
            from concurrent.futures import ThreadPoolExecutor
            return ThreadPoolExecutor()

        def generator(coro):
            yield
            return asyncio.create_task(coro)

        async def coroutine(coro):
            return asyncio.create_task(coro)
        """
    )
    for name, facts in summary.functions.items():
        assert facts.returns is None and facts.returns_via is None, name
    assert summary.functions["coroutine"].is_async


def test_one_level_of_wrapping_in_the_module_and_references_left_to_the_index():
    summary = summary_of(
        """
        import asyncio
        from ..util import launch
        from . import workers

        def spawn(coro):
            return asyncio.create_task(coro)

        def go():
            return spawn(work())

        def remote():
            return launch(work())

        def make():
            return workers.Poller()

        class Base:
            def _schedule_event(self, coro):
                return self.loop.create_task(coro)

            def schedule(self):
                return self._schedule_event(work())

            def inherited(self):
                return self._from_a_base()
        """
    )
    functions = summary.functions
    assert functions["go"].returns == Returned(TASK, "asyncio.create_task")
    assert functions["remote"].returns_via == "..util:launch"
    assert functions["make"].returns_via == ".:workers.Poller"
    assert functions["Base._schedule_event"].returns == Returned(TASK, "loop.create_task")
    assert functions["Base.schedule"].returns == Returned(TASK, "loop.create_task")
    assert functions["Base.inherited"].returns_via == ":Base._from_a_base"


def test_classes_threads_long_lived_bodies_daemons_and_releases():
    summary = summary_of(
        """
        import threading
        import multiprocessing as mp
        from .base import Service as Base

        class Poller(threading.Thread):
            def run(self):
                while not self.stopping.is_set():
                    self.step()

        class Once(mp.Process):
            def __init__(self):
                super().__init__(daemon=True)

            def run(self):
                for item in range(3):
                    print(item)

        class Server(Base):
            def run(self):
                self.httpd.serve_forever()

        class SelfStarting(threading.Thread):
            def __init__(self):
                super().__init__()
                self.setDaemon(False)
                self.start()

        def drain(q):
            for item in iter(q.get, None):
                print(item)

        def counted(n):
            i = 0
            while i < n:
                i += 1

        def stop(worker, pool, timeout=None):
            worker.join(timeout)
            pool.shutdown(wait=True)

        class Owner:
            def close(self, child):
                child.wait()
        """
    )
    classes = summary.classes
    assert classes["Poller"].bases == ("threading:Thread",)
    assert classes["Poller"].thread_base == "threading.Thread"
    assert classes["Poller"].run_long_lived is True and not classes["Poller"].sets_daemon
    assert classes["Once"].thread_base == "multiprocessing.Process"
    assert classes["Once"].run_long_lived is False and classes["Once"].sets_daemon
    assert classes["Server"].bases == (".base:Service",) and classes["Server"].thread_base is None
    assert classes["Server"].run_long_lived is True
    assert classes["SelfStarting"].starts_itself and not classes["SelfStarting"].sets_daemon
    assert classes["SelfStarting"].run_long_lived is None
    functions = summary.functions
    assert functions["drain"].long_lived and not functions["counted"].long_lived
    assert functions["stop"].params == ("worker", "pool", "timeout")
    assert functions["stop"].releases == ("worker", "pool")
    assert functions["Owner.close"].params == ("child",) and functions["Owner.close"].releases == ("child",)


def test_names_reexports_all_and_star_imports():
    summary = summary_of(
        """
        import os.path
        import asyncio as aio
        from . import helpers
        from .helpers import spawn as launch, stop
        from ..base import *
        try:
            from ujson import dumps
        except ImportError:
            from json import dumps
        run = helpers.run
        maybe = make_one()

        def stop():
            pass

        __all__ = ["launch"]
        __all__ += ["helpers"]
        """
    )
    assert summary.names == {
        "os": "os:",
        "aio": "asyncio:",
        "helpers": ".:helpers",
        "launch": ".helpers:spawn",
        "stop": None,  # imported and defined: either
        "dumps": None,  # two branches, two modules
        "run": ".:helpers.run",
        "maybe": None,
    }
    assert summary.all == ("launch", "helpers")
    assert summary.star_imports == ("..base",)
    assert summary.imports == (".", "..base", ".helpers", "asyncio", "json", "os.path", "ujson")


def test_plain_data_with_a_stable_digest():
    source = (PACKAGE / "helpers.py").read_text(encoding="utf-8")
    summary = summarize(source)
    again = ModuleSummary.from_json(summary.to_json())
    assert again == summary and again.digest == summary.digest
    assert summarize(source.replace("await asyncio.sleep(0)", "await asyncio.sleep(1)")).digest == summary.digest
    assert summarize(source.replace("return asyncio.create_task(coro)", "asyncio.create_task(coro)")).digest != summary.digest
    with pytest.raises(ValueError):
        ModuleSummary.from_json('{"format": 99}')


def test_a_module_that_does_not_parse_has_an_empty_summary_with_its_error():
    summary = summarize("def broken(:\n")
    assert summary.error is not None and summary.error.startswith("syntax error at 1:")
    assert summary._replace(error=None) == ModuleSummary()
    assert summarize(b"x = 1\0").error is not None
    assert summarize("x = " + "(" * 300 + ")" * 300).error is not None  # nested past the parser's limit


# -- the index over the fixture package ---------------------------------------------


@pytest.fixture
def index() -> ProjectIndex:
    return ProjectIndex()


def test_module_names_from_paths(index):
    assert index.location(PACKAGE / "callers.py")[:2] == ("fixtures.project.callers", False)
    assert index.location(PACKAGE / "__init__.py")[:2] == ("fixtures.project", True)


def test_wrappers_in_other_modules_return_tasks(index):
    view = index.view(PACKAGE / "callers.py")
    task = Returned(TASK, "asyncio.create_task")
    # helpers.py is module project.helpers from fixtures/ and fixtures.project.helpers from the repository root.
    assert view.returned_handle("spawn") == (task, "project.helpers.spawn")  # re-exported by __init__.py
    assert view.returned_handle("launch") == (task, "fixtures.project.helpers.spawn")  # from .helpers import spawn as launch
    assert view.returned_handle("helpers_module.spawn") == (task, "project.helpers.spawn")  # import ... as
    assert view.returned_handle("spawn_later") == (
        Returned(TASK, "asyncio.create_task"),
        "fixtures.project.helpers.spawn_later",
    )
    assert view.returned_handle("spawn_kept") is None
    assert view.returned_handle("work") is None
    assert view.returned_handle("print") is None


def test_coroutine_functions_of_other_modules(index):
    view = index.view(PACKAGE / "callers.py")
    assert view.is_coroutine_function("fetch")
    assert view.is_coroutine_function("work")
    assert not view.is_coroutine_function("spawn")
    assert not view.is_coroutine_function("nothing_here")


def test_thread_classes_across_three_files(index):
    view = index.view(PACKAGE / "callers.py")
    poller = view.thread_class("Poller")
    assert poller is not None and poller.name == "project.workers.Poller"
    assert poller.run_long_lived and not poller.sets_daemon
    fast = view.thread_class("FastPoller")  # special.py -> workers.py -> threading
    assert fast is not None and fast.run_long_lived and not fast.sets_daemon
    assert view.thread_class("DaemonPoller").sets_daemon
    assert view.thread_class("OneShot").run_long_lived is False
    assert view.thread_class("spawn") is None
    assert view.returned_handle("FastPoller") == (
        Returned(WORKER, "project.special.FastPoller", long_lived=True),
        "project.special.FastPoller",
    )
    assert view.returned_handle("DaemonPoller") is None


def test_an_inherited_method_from_another_file(index):
    view = index.view(PACKAGE / "service.py")
    assert view.method_returned_handle("Publisher", "_schedule_event") == (
        Returned(TASK, "loop.create_task"),
        "fixtures.project.base.Service._schedule_event",
    )
    assert view.method_returned_handle("Publisher", "publish") is None
    assert view.method_returned_handle("Publisher", "missing") is None


def test_attribute_types_from_annotations_and_coroutines_that_never_suspend():
    summary = summary_of(
        """
        from typing import Optional, TYPE_CHECKING
        if TYPE_CHECKING:
            from .pump import App, Other

        class Driver:
            size: "Other"

            def __init__(self, app: App[int], maybe: Optional["App"], either: "App | None", plain, n: int):
                self.app = app
                self.maybe = maybe
                self.either = either
                self.plain = plain
                self.twice = app
                self.count = n

            def reset(self, other: Other):
                self.twice = other

            async def _post(self, m):
                return self.post(m)

            async def _wait(self, m):
                await m

            async def _iterate(self, m):
                async for _ in m:
                    pass

            async def hook(self):
                \"\"\"For subclasses.\"\"\"

            def plain_method(self):
                return 1
        """
    )
    types = summary.classes["Driver"].attribute_types
    # ``plain`` has no annotation, ``twice`` gets two types, ``int`` is no name the module binds.
    assert types == {"size": ".pump:Other", "app": ".pump:App", "maybe": ".pump:App", "either": ".pump:App"}
    never = {name for name, facts in summary.functions.items() if facts.never_suspends}
    assert never == {"Driver._post"}
    assert ModuleSummary.from_json(summary.to_json()) == summary


def test_an_attribute_typed_by_a_base_in_another_file(index):
    view = index.view(PACKAGE / "terminal.py")
    app = view.attribute_class("TerminalDriver", "_app")
    assert app is not None and (app.kind, app.module, app.qualified) == (CLASS, "fixtures.project.pump", "App")
    assert view.method_of(app, "_post_message").never_suspends  # inherited from MessagePump
    assert not view.method_of(app, "_deliver").never_suspends
    assert view.method_of(app, "flush").never_suspends  # public: LL101 does not ask, a subclass may override it
    assert not view.method_of(app, "post_message").is_async
    assert view.method_of(app, "missing") is None
    assert view.attribute_class("TerminalDriver", "_loop") is None  # annotated with a class outside the project


def test_functions_that_release_an_argument(index):
    view = index.view(PACKAGE / "__init__.py")
    assert view.releases_argument("stop", position=0)
    assert view.releases_argument("stop", keyword="worker")
    assert not view.releases_argument("stop", position=1)
    assert not view.releases_argument("spawn", position=0)


def test_only_the_modules_an_answer_needs_are_read(index):
    view = index.view(PACKAGE / "callers.py")
    assert view.returned_handle("launch") is not None
    read = {Path(path).name for path in view.dependencies}
    assert read == {"helpers.py"}  # not workers.py, base.py, service.py...
    assert view.dependencies[str(PACKAGE / "helpers.py")] == summarize((PACKAGE / "helpers.py").read_bytes()).digest


def test_the_buffer_being_checked_is_its_own_summary(index):
    source = (PACKAGE / "callers.py").read_text(encoding="utf-8") + "\nfrom .helpers import spawn_kept as spawn_later\n"
    view = index.view(PACKAGE / "callers.py", summarize(source))
    assert view.returned_handle("spawn_later") is None  # bound twice in the buffer: either


def test_star_imports_in_a_cycle_cost_a_bounded_number_of_steps(tmp_path, monkeypatch):
    """Six modules, each star-importing the five others (scipy's ``cobyqa``
    has such a cycle): asking for a name none defines followed 24 hops along
    every branch, 5**24 steps, minutes and gigabytes for one name.  A cycle
    is cut where it closes, and one question follows at most _MAX_STEPS
    references; what is defined is still found."""
    modules = [f"m{number}" for number in range(6)]
    files = {"pyproject.toml": "", "pkg/__init__.py": ""}
    for module in modules:
        stars = "".join(f"from .{other} import *\n" for other in modules if other != module)
        files[f"pkg/{module}.py"] = stars + (
            "import asyncio\ndef spawn(c):\n    return asyncio.create_task(c)\n" if module == "m5" else ""
        )
    files["pkg/user.py"] = "from .m0 import missing, spawn\n"
    write_tree(tmp_path, files)
    steps = 0
    resolve = project_module.ModuleView._resolve

    def counted(self, *args):
        nonlocal steps
        steps += 1
        if steps > 100_000:
            raise AssertionError("the resolution does not end")
        return resolve(self, *args)

    monkeypatch.setattr(project_module.ModuleView, "_resolve", counted)
    view = ProjectIndex().view(tmp_path / "pkg/user.py")
    steps = 0
    assert view.resolve("missing") is None
    # The budget, and the calls that find it spent on the way back out.
    assert steps <= 2 * project_module._MAX_STEPS
    assert view.returned_handle("spawn")[0].kind == TASK


# -- layouts ------------------------------------------------------------------------


def test_src_layout_and_namespace_packages(tmp_path):
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "",
            "src/company/tools/__init__.py": "",
            "src/company/tools/tasks.py": "import asyncio\ndef spawn(c):\n    return asyncio.create_task(c)\n",
            "tests/test_tools.py": "from company.tools.tasks import spawn\nfrom helpers import fire\n",
            "tests/helpers.py": "from company.tools import tasks\ndef fire(c):\n    return tasks.spawn(c)\n",
        },
    )
    index = ProjectIndex()
    # company/ has no __init__.py: a namespace package under src/.
    assert index.location(tmp_path / "src/company/tools/tasks.py").name == "company.tools.tasks"
    assert index.location(tmp_path / "tests/test_tools.py").name == "tests.test_tools"
    view = index.view(tmp_path / "tests/test_tools.py")
    assert view.returned_handle("spawn")[0].kind == TASK
    assert view.returned_handle("fire") == (Returned(TASK, "asyncio.create_task"), "helpers.fire")


def test_a_file_alone(tmp_path):
    (tmp_path / "alone.py").write_text("import asyncio\nfrom missing import spawn\n", encoding="utf-8")
    index = ProjectIndex()
    view = index.view(tmp_path / "alone.py")
    assert view.location.name == "alone"
    assert view.returned_handle("spawn") is None
    assert view.resolve("asyncio.create_task").kind == EXTERNAL
    assert view.returned_handle("asyncio.create_task") == (Returned(TASK, "asyncio.create_task"), "asyncio.create_task")


def test_a_package_wins_over_a_module_of_the_same_name(tmp_path):
    write_tree(
        tmp_path,
        {
            "setup.cfg": "",
            "app/__init__.py": "",
            "app/jobs.py": "def spawn(c):\n    return c\n",
            "app/jobs/__init__.py": "import asyncio\ndef spawn(c):\n    return asyncio.create_task(c)\n",
            "app/main.py": "from .jobs import spawn\n",
        },
    )
    view = ProjectIndex().view(tmp_path / "app/main.py")
    assert view.returned_handle("spawn")[0].kind == TASK


# -- what must not crash or hang ------------------------------------------------------


def test_cycles_stars_broken_modules_and_conditional_imports_are_quiet(tmp_path):
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "",
            "pkg/__init__.py": "from .a import *\n",
            "pkg/a.py": "from .b import f, g\nfrom .b import *\n",
            "pkg/b.py": "from .a import f\nfrom .a import *\nfrom .broken import h\n",
            "pkg/broken.py": "def h(:\n",
            "pkg/maybe.py": "try:\n    from .real import spawn\nexcept ImportError:\n    spawn = None\n",
            "pkg/real.py": "import asyncio\ndef spawn(c):\n    return asyncio.create_task(c)\n",
            "pkg/chain.py": "from .chain import x as y\nfrom .chain import y as x\nclass Loop(Loop):\n    pass\n",
            "pkg/user.py": "from . import f, g, h\nfrom .maybe import spawn\nfrom .chain import x, Loop\nfrom .a import *\n",
        },
    )
    index = ProjectIndex()
    view = index.view(tmp_path / "pkg/user.py")
    for name in ("f", "g", "h", "spawn", "x", "nothing", "a.b.c.d"):
        assert view.returned_handle(name) is None, name
        assert not view.is_coroutine_function(name)
    assert view.thread_class("Loop") is None
    assert view.method_returned_handle("Loop", "run") is None
    assert str(tmp_path / "pkg/broken.py") in index.errors


def test_long_chains_are_bounded(tmp_path):
    files = {"pyproject.toml": "", "deep/__init__.py": ""}
    files["deep/m0.py"] = "import threading\nclass C0(threading.Thread):\n    pass\n"
    for number in range(1, 40):
        files[f"deep/m{number}.py"] = f"from .m{number - 1} import C{number - 1}\nclass C{number}(C{number - 1}):\n    pass\n"
    write_tree(tmp_path, files)
    view = ProjectIndex().view(tmp_path / "deep/m39.py")
    assert view.thread_class("C39") is not None  # 40 files, each a subclass of the one before
    assert view.resolve("C39").kind == CLASS


# -- the summary cache ---------------------------------------------------------------


def test_summaries_are_computed_once_per_content(tmp_path, monkeypatch):
    calls = []
    real = project_module.summarize

    def counting(data):
        calls.append(data)
        return real(data)

    monkeypatch.setattr(project_module, "summarize", counting)
    cache_dir = tmp_path / "cache"
    first = ProjectIndex(SummaryCache(cache_dir)).view(PACKAGE / "callers.py")
    assert first.returned_handle("launch") is not None
    assert len(calls) == 2  # callers.py itself, then helpers.py
    second = ProjectIndex(SummaryCache(cache_dir)).view(PACKAGE / "callers.py")
    assert second.returned_handle("launch") is not None
    assert len(calls) == 2  # both from the cache directory
    assert second.dependencies == first.dependencies


def test_an_index_file_gives_another_job_the_same_facts(tmp_path, monkeypatch):
    from leaklint.cache import content_hash

    index = ProjectIndex()
    entries = []
    for path in sorted(PACKAGE.glob("*.py")):
        data = path.read_bytes()
        entries.append((str(path), content_hash(data), index.summary_of_bytes(data)))
    write_index(tmp_path / "index.json", entries)
    monkeypatch.setattr(project_module, "summarize", lambda data: pytest.fail("summarised again"))
    cache = SummaryCache()
    assert cache.load_index(tmp_path / "index.json") == len(entries)
    view = ProjectIndex(cache).view(PACKAGE / "callers.py")
    assert view.thread_class("FastPoller") is not None
    (tmp_path / "bad.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError):
        cache.load_index(tmp_path / "bad.json")


def test_resolve_kinds(index):
    view = index.view(PACKAGE / "callers.py")
    assert view.resolve("spawn").kind == FUNCTION
    assert view.resolve("Poller").kind == CLASS
    assert view.resolve("helpers_module").kind == "module"


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda path: path.name)
def test_the_checked_modules_own_summary_from_libcst_agrees_with_ast(path):
    import libcst as cst

    from leaklint.analysis.project import summary_of_cst

    source = path.read_text(encoding="utf-8")
    from_cst, from_ast = summary_of_cst(cst.parse_module(source)), summarize(source)
    assert from_cst.names == from_ast.names
    assert {name: facts.bases for name, facts in from_cst.classes.items()} == {
        name: facts.bases for name, facts in from_ast.classes.items()
    }
    assert set(from_cst.functions) == set(from_ast.functions)
    assert from_cst.star_imports == from_ast.star_imports


def test_own_summary_from_libcst_with_conditional_and_shadowing_bindings():
    import libcst as cst

    from leaklint.analysis.project import summary_of_cst

    source = textwrap.dedent(
        """
        import os.path
        from . import helpers as h
        from .base import *
        try:
            from .fast import spawn
        except ImportError:
            from .slow import spawn
        if h:
            from .workers import Poller
        run = h.run
        launch = make()

        class Local(Poller, object):
            def start(self):
                pass

        def Poller():
            pass
        """
    )
    summary = summary_of_cst(cst.parse_module(source))
    assert summary == summarize(source)._replace(functions=summary.functions, imports=summary.imports)
    assert summary.names["spawn"] is None and summary.names["Poller"] is None and summary.names["run"] == ".:helpers.run"
    assert summary.classes["Local"].bases == ("?", "builtins:object")
    assert set(summary.functions) == {"Local.start", "Poller"}


def test_kinds_a_module_gets_from_the_project(index):
    from leaklint.analysis.project import COROUTINE

    assert index.view(PACKAGE / "callers.py").kinds_offered() == {TASK, WORKER, COROUTINE}
    assert index.view(PACKAGE / "service.py").kinds_offered() == {TASK, COROUTINE}  # methods inherited from base.py
    assert index.view(PACKAGE / "special.py").kinds_offered() == {WORKER}
    assert index.view(PACKAGE / "helpers.py").kinds_offered() == set()


def test_a_result_depends_on_the_summaries_it_read_and_only_on_what_they_say(tmp_path):
    from leaklint.analysis.project import dependencies_current, stamp_dependencies

    write_tree(
        tmp_path,
        {
            "pyproject.toml": "",
            "app/__init__.py": "",
            "app/helpers.py": "import asyncio\n\ndef spawn(coro):\n    return asyncio.create_task(coro)\n",
            "app/main.py": "from .helpers import spawn\n",
        },
    )
    helper = tmp_path / "app/helpers.py"
    view = ProjectIndex().view(tmp_path / "app/main.py")
    assert view.returned_handle("spawn") is not None
    stamped = stamp_dependencies(view.dependencies)
    assert list(stamped) == [str(helper)]
    assert dependencies_current(ProjectIndex(), stamped)
    helper.write_text("import asyncio\n\ndef spawn(coro):\n    print('spawning')  # an edit that changes no fact\n    return asyncio.create_task(coro)\n")
    assert dependencies_current(ProjectIndex(), stamped)  # the summary says the same
    helper.write_text("import asyncio\n\ndef spawn(coro):\n    asyncio.create_task(coro)\n")
    assert not dependencies_current(ProjectIndex(), stamped)
    helper.unlink()
    assert not dependencies_current(ProjectIndex(), stamped)
    assert not dependencies_current(ProjectIndex(), {"x": "not a stamp"})


def test_own_summaries_from_ast_without_bodies_and_from_libcst_are_the_same():
    import libcst as cst

    from leaklint.analysis.project import summary_of_cst

    for path in sorted(PACKAGE.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert summarize(source, bodies=False) == summary_of_cst(cst.parse_module(source)), path.name


# -- the result cache knows what a result depended on ----------------------------------


def test_a_cached_result_is_invalid_exactly_when_an_imported_summary_changes(tmp_path, monkeypatch):
    from leaklint import runner
    from leaklint.config import load_settings

    write_tree(
        tmp_path,
        {
            "pyproject.toml": "",
            "app/__init__.py": "",
            "app/helpers.py": "import asyncio\n\ndef spawn(coro):\n    return asyncio.create_task(coro)\n",
            "app/main.py": "from .helpers import spawn\n\nasync def handle(job):\n    spawn(job())\n",
            "app/other.py": "def unrelated():\n    return 1\n",
        },
    )
    checked = []
    real_check = runner.check_source

    def counting(text, path, *args, **kwargs):
        checked.append(Path(path).name)
        return real_check(text, path, *args, **kwargs)

    monkeypatch.setattr(runner, "check_source", counting)
    settings = load_settings(tmp_path / "pyproject.toml", cwd=tmp_path)
    paths = [str(tmp_path / "app" / name) for name in ("helpers.py", "main.py", "other.py")]

    def run():
        checked.clear()
        results = runner.check_files(paths, settings, jobs=1, cache_dir=tmp_path / "cache")
        return {Path(result.path).name: [(finding.line, finding.code) for finding in result.findings] for result in results}

    assert run() == {"helpers.py": [], "main.py": [(4, "LL101")], "other.py": []}
    assert sorted(checked) == ["helpers.py", "main.py", "other.py"]
    assert run()["main.py"] == [(4, "LL101")] and checked == []  # warm: nothing checked

    helper = tmp_path / "app/helpers.py"
    helper.write_text("import asyncio\n\ndef spawn(coro):\n    print(coro)  # a new line in its body\n    return asyncio.create_task(coro)\n")
    assert run()["main.py"] == [(4, "LL101")]
    assert checked == ["helpers.py"]  # its summary says the same: main.py's result stands

    (tmp_path / "app/other.py").write_text("def unrelated():\n    return 2\n")
    assert run()["main.py"] == [(4, "LL101")] and checked == ["other.py"]

    helper.write_text("import asyncio\n\ndef spawn(coro):\n    asyncio.create_task(coro)\n")
    results = run()
    assert results["main.py"] == [] and results["helpers.py"] == [(4, "LL101")]
    assert sorted(checked) == ["helpers.py", "main.py"]  # main.py again: what it imports changed


def test_write_index_then_check_a_shard_with_it(tmp_path, monkeypatch, capsys):
    from leaklint import cli

    write_tree(
        tmp_path,
        {
            "pyproject.toml": "",
            "app/__init__.py": "",
            "app/helpers.py": "import asyncio\n\ndef spawn(coro):\n    return asyncio.create_task(coro)\n",
            "app/main.py": "from .helpers import spawn\n\nasync def handle(job):\n    spawn(job())\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--write-index", "index.json", "app"]) == 0
    assert "indexed 3 modules in index.json" in capsys.readouterr().err
    monkeypatch.setattr(project_module, "summarize", lambda data: pytest.fail("summarised again"))
    # The shard checks main.py alone; what helpers.py does comes from the index.
    assert cli.main(["--no-cache", "--index", "index.json", "--output-format", "json", "app/main.py"]) == 1
    assert '"code": "LL101"' in capsys.readouterr().out
    assert cli.main(["--index", "missing.json", "app"]) == 2
    assert "--index missing.json" in capsys.readouterr().err


def test_a_file_with_no_project_around_it_is_checked_as_without_an_index(tmp_path):
    from leaklint import check_source

    source = (FIXTURES / "tasks" / "dangling_task.py").read_bytes()
    (tmp_path / "alone.py").write_bytes(source)
    with_index = check_source(source, str(tmp_path / "alone.py"), project=ProjectIndex())
    assert with_index.findings == check_source(source, str(tmp_path / "alone.py")).findings
    assert with_index.findings and with_index.dependencies == {}
    # A buffer with no file name has no project either.
    assert check_source(source, "-", project=ProjectIndex()).findings == check_source(source, "-").findings


def test_without_the_index_the_package_leaks_are_invisible():
    from leaklint import check_source

    path = PACKAGE / "callers.py"
    assert check_source(path.read_bytes(), str(path)).findings == []
