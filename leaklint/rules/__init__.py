"""The rules, one file each, grouped by family: tasks, threads, loops, queues, events.

Every ``Rule`` subclass under this package is registered automatically."""
