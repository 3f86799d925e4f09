"""``is_coroutine``: each marked line's expression gets the answer its comment
gives (``# coroutine``, ``# not a coroutine``, ``# unknown``)."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from leaklint.analysis import FileFacts
from leaklint.analysis.tree import SyntaxTree

_ANSWERS = {"# coroutine": True, "# not a coroutine": False, "# unknown": None}


def _marked_answers(source: str):
    """(line, expected, actual) for every marked line: the expression is the
    value of the line's statement (``x = <expr>`` or ``<expr>``)."""
    source = textwrap.dedent(source)
    module = cst.parse_module(source)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    facts = FileFacts(SyntaxTree(module))
    by_line = {}
    for node, position in positions.items():
        if isinstance(node, (cst.Expr, cst.Assign, cst.Return)) and position.start.line not in by_line:
            by_line[position.start.line] = node.value
    results = []
    for number, line in enumerate(source.splitlines(), start=1):
        for marker, expected in _ANSWERS.items():
            if line.rstrip().endswith(marker):
                results.append((number, expected, facts.is_coroutine(by_line[number])))
    assert results, "the case marks no line"
    return results


def _check(source: str):
    for number, expected, actual in _marked_answers(source):
        assert actual is expected, f"line {number}: expected {expected}, got {actual}"


def test_functions_of_the_module_resolved_by_scope():
    _check(
        """
        import asyncio

        async def fetch():
            await asyncio.sleep(0)

        def plain():
            return 1

        async def agen():
            yield 1

        def wrapper():
            return fetch()

        def main():
            fetch()  # coroutine
            plain()  # not a coroutine
            agen()  # not a coroutine
            wrapper()  # coroutine
            missing()  # unknown

        def shadowed(fetch):
            fetch()  # unknown

        def shadowed_locally():
            fetch = plain
            fetch()  # unknown

        def nested():
            async def inner():
                pass
            inner()  # coroutine

        class Holder:
            async def fetch(self):
                pass

            def go(self):
                fetch()  # coroutine
        """
    )


def test_methods_of_the_class_and_its_family():
    _check(
        """
        import functools
        import contextlib

        class Base:
            async def setup(self):
                pass

            def close(self):
                pass

            @contextlib.asynccontextmanager
            async def session(self):
                yield

            @classmethod
            async def create(cls):
                cls.helper()  # unknown
                cls.build()  # coroutine
                return cls()

            @classmethod
            async def build(cls):
                pass

        class Child(Base):
            async def run(self):
                self.setup()  # coroutine
                self.close()  # not a coroutine
                self.session()  # unknown
                super().setup()  # coroutine
                self.unknown_method()  # unknown
                other.setup()  # unknown

            def later(self):
                def callback():
                    self.setup()  # coroutine
                return callback

        class Replaced:
            async def step(self):
                pass

            def __init__(self):
                self.step = print

            def go(self):
                self.step()  # unknown

        class Unrelated:
            def go(self):
                self.setup()  # unknown
        """
    )


def test_standard_library_and_futures():
    _check(
        """
        import asyncio
        import asyncio as aio
        import concurrent.futures
        from asyncio import sleep, gather

        def main(loop):
            asyncio.sleep(1)  # coroutine
            aio.wait_for(x, 1)  # coroutine
            sleep(1)  # coroutine
            asyncio.open_connection("h", 1)  # coroutine
            asyncio.create_subprocess_exec("ls")  # coroutine
            loop.create_future()  # not a coroutine
            asyncio.Future()  # not a coroutine
            concurrent.futures.Future()  # not a coroutine
            gather()  # not a coroutine
            loop.run_in_executor(None, print)  # not a coroutine
            asyncio.get_event_loop()  # unknown

        def make_future(loop):
            return loop.create_future()

        def use_it():
            make_future(None)  # not a coroutine
            future = asyncio.Future()
            future  # not a coroutine

        def local_sleep():
            import time
            sleep = time.sleep
            sleep(1)  # unknown
        """
    )


def test_names_bound_to_calls():
    _check(
        """
        async def job():
            pass

        def main(flag):
            coroutine = job()
            coroutine  # coroutine
            other = job() if flag else None
            other  # unknown
            mixed = job()
            mixed = 3
            mixed  # unknown
        """
    )


def test_asyncio_primitives_bound_in_scope_or_class():
    _check(
        """
        import asyncio
        import queue
        import threading

        async def local():
            q = asyncio.Queue()
            q.put(1)  # coroutine
            q.get()  # coroutine
            q.join()  # coroutine
            q.put_nowait(1)  # unknown
            event = asyncio.Event()
            event.wait()  # coroutine
            lock = asyncio.Lock()
            lock.acquire()  # coroutine
            sync = threading.Event()
            sync.wait()  # unknown
            sq = queue.Queue()
            sq.put(1)  # unknown

        async def annotated(q: asyncio.Queue, p):
            q.get()  # coroutine
            p.get()  # unknown

        class Service:
            def __init__(self):
                self._queue = None
                self._ready = asyncio.Event()

            def start(self):
                self._queue = asyncio.Queue()

            async def run(self):
                self._queue.get()  # coroutine
                self._ready.wait()  # coroutine

        class Mixed:
            def __init__(self, q):
                self._queue = q

            async def run(self):
                self._queue.get()  # unknown
        """
    )


def test_type_checking_blocks_and_annotations():
    source = textwrap.dedent(
        """
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            f()
        else:
            g()
        x: h() = 1
        """
    )
    module = cst.parse_module(source)
    facts = FileFacts(SyntaxTree(module))
    by_name = {call.func.value: call for call in facts.tree.calls}
    assert facts.for_type_checkers_only(by_name["f"])
    assert not facts.for_type_checkers_only(by_name["g"])
    assert facts.for_type_checkers_only(by_name["h"])


def test_coroutine_functions_index():
    module = cst.parse_module("async def a(): pass\ndef b(): pass\nasync def c():\n    yield\nclass K:\n    async def m(self): pass\n")
    facts = FileFacts(SyntaxTree(module))
    assert {function.name.value for function in facts.coroutine_functions} == {"a", "m"}


@pytest.mark.parametrize("depth", [600])
def test_a_long_chain_of_wrappers_does_not_recurse_without_end(depth):
    source = "async def f0(): pass\n" + "".join(f"def f{i}():\n    return f{i - 1}()\n" for i in range(1, depth))
    source += "def loop_a():\n    return loop_b()\ndef loop_b():\n    return loop_a()\n"
    module = cst.parse_module(source)
    facts = FileFacts(SyntaxTree(module))
    calls = {call.func.value: call for call in facts.tree.calls}
    assert facts.is_coroutine(calls["loop_a"]) is None
    assert facts.is_coroutine(calls["f3"]) is True
    assert facts.is_coroutine(calls[f"f{depth - 2}"]) is None  # too deep to follow: unknown, not a crash


def async_service(methods: int) -> str:
    """One class of async methods that call each other on ``self``, use an
    asyncio queue and event on the instance, and sometimes drop a coroutine."""
    lines = [
        "import asyncio",
        "class Service:",
        "    def __init__(self):",
        "        self._inbox = asyncio.Queue()",
        "        self._ready = asyncio.Event()",
    ]
    for index in range(methods):
        lines.append(f"    async def method_{index}(self, item):")
        shape = index % 3
        if shape == 0:
            lines += [f"        await self.method_{index + 1}(item)", "        await self._inbox.put(item)"]
        elif shape == 1:
            lines += ["        item = await self._inbox.get()", "        self._ready.set()", f"        self.method_{index - 1}(item)"]
        else:
            lines += ["        await self._ready.wait()", "        helper = asyncio.sleep(0)", "        await helper"]
    return "\n".join(lines) + "\n"


def test_coroutine_questions_cost_flat_work_per_node(monkeypatch):
    from tests.test_complexity import lookups_per_node

    small = lookups_per_node(async_service(150), monkeypatch)
    large = lookups_per_node(async_service(1200), monkeypatch)
    assert large <= small * 1.25, f"{small:.2f} lookups per node at 150, {large:.2f} at 1200"
