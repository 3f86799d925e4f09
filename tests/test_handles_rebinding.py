"""A handle on ``self.<attr>`` that its class never releases, stored by a
method that may run more than once: the message says each run loses the
previous one.  Which methods count as running more than once decides whether
that is true, so each shape is checked by its message."""

from __future__ import annotations

import textwrap

from leaklint import check_source
from leaklint.rules.threads.executor_without_shutdown import ExecutorWithoutShutdown
from leaklint.rules.threads.unjoined_thread import UnjoinedThread
from leaklint.rules.threads.unwaited_process import UnwaitedProcess

_HEADER = "import functools\nimport threading\nfrom concurrent.futures import ThreadPoolExecutor\nfrom subprocess import Popen\n"


def _messages(source: str, rule=UnwaitedProcess):
    result = check_source(_HEADER + textwrap.dedent(source), rules=[rule])
    assert result.error is None and result.rule_errors == []
    return [finding.message for finding in result.findings]


def _loses_the_previous(message: str) -> bool:
    return "is lost each time" in message


def test_an_unconditional_store_in_a_method_names_the_method_and_the_attribute():
    (message,) = _messages(
        """
        class Player:
            def play(self, path):
                self._player = Popen(["play", path])
        """
    )
    assert message == (
        "the child made by subprocess.Popen is never waited for, and the previous child is lost each time"
        " `play()` rebinds `self._player`: they become zombies; call wait() or communicate()"
    )


def test_the_constructor_runs_once():
    (message,) = _messages(
        """
        class Player:
            def __init__(self, path):
                self._player = Popen(["play", path])
        """
    )
    assert not _loses_the_previous(message)


def test_guarded_by_the_old_value_being_none():
    (message,) = _messages(
        """
        class Player:
            def play(self, path):
                if self._player is None:
                    self._player = Popen(["play", path])
        """
    )
    assert not _loses_the_previous(message)


def test_guarded_by_the_old_value_being_false():
    (message,) = _messages(
        """
        class Player:
            def play(self, path):
                if not self._player:
                    self._player = Popen(["play", path])
        """
    )
    assert not _loses_the_previous(message)


def test_an_early_return_on_another_flag_guards_it():
    (message,) = _messages(
        """
        class Player:
            def play(self, path):
                if self._started:
                    return
                self._started = True
                self._player = Popen(["play", path])
        """
    )
    assert not _loses_the_previous(message)


def test_a_branch_that_does_not_store_it():
    (message,) = _messages(
        """
        class Player:
            def play(self, path):
                if path:
                    self._player = Popen(["play", path])
                else:
                    log("nothing to play")
        """
    )
    assert not _loses_the_previous(message)


def test_the_old_value_looked_at_first():
    (message,) = _messages(
        """
        class Player:
            def play(self, path):
                if self._player:
                    log("replacing", self._player.pid)
                self._player = Popen(["play", path])
        """
    )
    assert not _loses_the_previous(message)


def test_the_old_value_looked_at_in_the_storing_statement():
    (message,) = _messages(
        """
        class Player:
            def play(self, path):
                self._player = Popen(["play", path]) if self._player is None else self._player
        """
    )
    assert not _loses_the_previous(message)


def test_the_old_value_looked_at_after_the_store_does_not_guard_it():
    (message,) = _messages(
        """
        class Player:
            def play(self, path):
                self._player = Popen(["play", path])
                log(self._player.pid)
        """
    )
    assert _loses_the_previous(message)


def test_a_cached_property_runs_once():
    (message,) = _messages(
        """
        class Player:
            @functools.cached_property
            def player(self):
                self._player = Popen(["play"])
                return 1
        """
    )
    assert not _loses_the_previous(message)


def test_a_private_helper_called_only_by_the_constructor_runs_once():
    (message,) = _messages(
        """
        class Player:
            def __init__(self):
                self._spawn()

            def _spawn(self):
                self._player = Popen(["play"])
        """
    )
    assert not _loses_the_previous(message)


def test_a_private_helper_called_again_elsewhere_may_run_twice():
    (message,) = _messages(
        """
        class Player:
            def __init__(self):
                self._spawn()

            def replay(self):
                self._spawn()

            def _spawn(self):
                self._player = Popen(["play"])
        """
    )
    assert _loses_the_previous(message)


def test_a_workers_run_runs_once():
    (message,) = _messages(
        """
        class Runner(threading.Thread):
            def run(self):
                self._child = Popen(["server"])
        """
    )
    assert not _loses_the_previous(message)


def test_an_executor_rebound_by_a_method():
    (message,) = _messages(
        """
        class Client:
            def connect(self):
                self._requests = ThreadPoolExecutor()
                self._requests.submit(print)
        """,
        ExecutorWithoutShutdown,
    )
    assert message == (
        "concurrent.futures.ThreadPoolExecutor is never shut down, and the previous executor is lost each time"
        " `connect()` rebinds `self._requests`: use it in a `with` block or call shutdown()"
    )


def test_a_long_lived_worker_rebound_by_a_method():
    (message,) = _messages(
        """
        def serve(jobs):
            while True:
                jobs.get()

        class Client:
            def connect(self, jobs):
                self._worker = threading.Thread(target=serve, args=(jobs,))
                self._worker.start()
        """,
        UnjoinedThread,
    )
    assert message == (
        "threading.Thread runs until told to stop, but it is never stopped or joined (and is not a daemon),"
        " and the previous worker is lost each time `connect()` rebinds `self._worker`"
    )


def test_a_one_shot_worker_rebound_by_a_method_stays_quiet():
    # LL201's policy: a worker that ends by itself is never reported.
    assert (
        _messages(
            """
            class Client:
                def connect(self):
                    self._worker = threading.Thread(target=print)
                    self._worker.start()
            """,
            UnjoinedThread,
        )
        == []
    )
