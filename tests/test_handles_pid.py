"""A child waited for through its pid (``os.waitpid(p.pid, 0)``): the shapes
of call the pid-wait analysis has to tell apart, one small module each."""

from __future__ import annotations

import textwrap

from leaklint import check_source
from leaklint.rules.threads.unwaited_process import UnwaitedProcess


def _findings(source: str):
    result = check_source(textwrap.dedent(source), rules=[UnwaitedProcess])
    assert result.error is None and result.rule_errors == []
    return [(finding.line, finding.code) for finding in result.findings]


def test_waitpid_imported_by_name_reaps():
    assert _findings(
        """
        from os import waitpid
        from subprocess import Popen
        def f(command):
            child = Popen(command)
            waitpid(child.pid, 0)
        """
    ) == []


def test_a_waitpid_of_the_module_that_is_not_os_waitpid_does_not_reap():
    assert _findings(
        """
        from subprocess import Popen
        def waitpid(pid, options):
            pass
        def f(command):
            child = Popen(command)
            waitpid(child.pid, 0)
        """
    ) == [(6, "LL203")]


def test_the_pid_in_the_options_position_is_not_waited_for():
    assert _findings(
        """
        import os
        from subprocess import Popen
        def f(command):
            child = Popen(command)
            os.waitpid(0, child.pid)
        """
    ) == [(5, "LL203")]


def test_waitid_on_a_process_group_is_not_a_wait_for_the_child():
    assert _findings(
        """
        import os
        from subprocess import Popen
        def f(command):
            child = Popen(command)
            os.waitid(os.P_PGID, child.pid, os.WEXITED)
        """
    ) == [(5, "LL203")]


def test_a_function_waiting_for_its_parameter_by_keyword():
    assert _findings(
        """
        import os
        from subprocess import Popen
        def reap(options, pid):
            os.waitpid(pid, options)
        def f(command):
            child = Popen(command)
            reap(0, pid=child.pid)
        def g(command):
            child = Popen(command)
            reap(child.pid, 0)
        """
    ) == [(10, "LL203")]


def test_a_static_method_takes_the_pid_first():
    assert _findings(
        """
        import os
        from subprocess import Popen
        class Runner:
            @staticmethod
            def reap(pid, options=0):
                os.waitpid(pid, options)
            def reap_later(self, options, pid):
                os.waitpid(pid, options)
            def start(self, command):
                child = Popen(command)
                self.reap(child.pid)
            def start_wrongly(self, command):
                child = Popen(command)
                self.reap_later(child.pid, 0)
        """
    ) == [(14, "LL203")]


def test_a_plain_method_called_on_the_class_takes_the_instance_first():
    assert _findings(
        """
        import os
        from subprocess import Popen
        class Runner:
            def reap(self, pid):
                os.waitpid(pid, 0)
        def f(command, runner):
            child = Popen(command)
            Runner.reap(runner, child.pid)
        def g(command):
            child = Popen(command)
            Runner.reap(child.pid)
        """
    ) == [(11, "LL203")]


def test_a_method_of_another_class_does_not_reap():
    assert _findings(
        """
        import os
        from subprocess import Popen
        class Reaper:
            def reap(self, pid):
                os.waitpid(pid, 0)
        class Runner:
            def reap(self, pid):
                os.kill(pid, 9)
            def start(self, command):
                child = Popen(command)
                self.reap(child.pid)
        """
    ) == [(11, "LL203")]


def test_a_pid_attribute_of_another_object_is_not_the_childs():
    # ``self.pid`` holds the child's pid; ``other.pid`` is somebody else's.
    assert _findings(
        """
        import os
        from subprocess import Popen
        class Runner:
            def start(self, command):
                self.proc = Popen(command)
                self.pid = self.proc.pid
        def stop(other):
            os.waitpid(other.pid, 0)
        """
    ) == [(6, "LL203")]


def test_a_local_child_whose_pid_the_class_waits_for():
    assert _findings(
        """
        import os
        from subprocess import Popen
        class Runner:
            def start(self, command, wait):
                child = Popen(command)
                self.pid = child.pid
                if wait:
                    child.wait()
            def stop(self):
                os.waitpid(self.pid, 0)
        """
    ) == []
