from __future__ import annotations

from leaklint.analysis.creations import Creation, QUEUE
from leaklint.analysis.handles import Handle
from leaklint.analysis.queues import owned_privately
from leaklint.analysis.prechecks import may_make_a_queue
from leaklint.rule import HandleRule, Trigger

# Calls that neither take items out nor hand the queue to anyone who might.
METHODS_THAT_TAKE_NOTHING_OUT = frozenset(
    {"put", "put_nowait", "qsize", "empty", "full", "join", "close", "join_thread", "cancel_join_thread"}
)


class QueueWithoutConsumer(HandleRule):
    """Items are put into a queue that nobody reads.

    ## What it does
    Flags a `queue`, `asyncio` or `multiprocessing` queue that its owner puts
    items into but never takes any out of (`get()`, `get_nowait()`), and never
    hands to anyone else: not passed to a thread, a task or a function, not
    returned, not stored elsewhere. The owner is the function for a local,
    the class for a private `self._attr`, the module for a private global; a
    queue on a public attribute or global is an interface and is left alone.

    ## Why is this bad?
    Every item put into a queue that nobody reads stays there: the queue grows
    without bound. A bounded queue is worse: once full, the next `put()`
    blocks forever, the Python version of a send on a Go channel nobody
    receives from.

    ## Example
    ```python
    def collect(events):
        results = queue.Queue()
        for event in events:
            results.put(process(event))
    ```

    ## Use instead
    Hand the queue to its consumer, or drop the queue:
    ```python
    def collect(events):
        results = queue.Queue()
        consumer = threading.Thread(target=store_all, args=(results,))
        consumer.start()
        for event in events:
            results.put(process(event))
        results.put(None)
        consumer.join()
    ```

    ## References
    - [queue](https://docs.python.org/3/library/queue.html)
    """

    code = "LL401"
    name = "queue-without-consumer"
    message = "items are put into {call} but nothing ever gets them, and the queue is never handed on"
    modules = ("queue", "asyncio", "multiprocessing")
    trigger = Trigger(r"Queue", tree=may_make_a_queue)
    kinds = (QUEUE,)

    def check_handle(self, handle: Handle, creation: Creation) -> None:
        if not owned_privately(handle):
            return
        if handle.calls("put", "put_nowait") and not handle.is_released(METHODS_THAT_TAKE_NOTHING_OUT):
            self.report(handle.call, self.message.format(call=creation.name))
