"""One walk over a module that every rule shares.

libcst's own ``visit`` rebuilds every node it passes and recurses in Python, which
costs about half a parse and overflows on deeply nested files.  This walk reads
the dataclass fields directly with an explicit stack: it costs a few percent of
the parse and has no depth limit.  In that one walk it records what the shared
analysis needs (each node's parent, where every name and attribute is used,
the imports) and collects the nodes the enabled rules asked to visit.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Dict, FrozenSet, Iterable, Iterator, List, Optional, Tuple, Type

import libcst as cst

# Fields that only hold whitespace, comments or punctuation: nothing a rule reads.
_SKIPPED_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "lbracket",
        "rbracket",
        "lbrace",
        "rbrace",
        "leading_lines",
        "lines_after_decorators",
        "header",
        "footer",
        "trailing_whitespace",
        "comma",
        "semicolon",
        "colon",
        "equal",
        "dot",
        "indent",
        "newline",
    }
)

_child_fields_cache: Dict[type, Tuple[str, ...]] = {}


def _child_fields(node_type: type) -> Tuple[str, ...]:
    fields = _child_fields_cache.get(node_type)
    if fields is None:
        fields = tuple(
            f.name
            for f in dataclasses.fields(node_type)
            if f.name not in _SKIPPED_FIELDS and not f.name.startswith("whitespace")
        )
        _child_fields_cache[node_type] = fields
    return fields


# What a field's value is, by its type: a node, a sequence of nodes, or
# neither (a string, None, a sentinel).  A dictionary lookup instead of
# ``isinstance(value, cst.CSTNode)``, an ABC check that costs ten times more.
_NODE, _SEQUENCE, _NEITHER = 1, 2, 3  # all true: a type not seen yet reads as None
_value_kinds: Dict[type, int] = {list: _SEQUENCE, tuple: _SEQUENCE}


def _kind_of(value_type: type) -> int:
    kind = _value_kinds.get(value_type)
    if kind is None:
        kind = _value_kinds[value_type] = _NODE if issubclass(value_type, cst.CSTNode) else _NEITHER
    return kind


def iter_children(node: cst.CSTNode) -> Iterator[Tuple[str, cst.CSTNode]]:
    """The (field name, child) pairs of ``node`` that carry meaning."""
    kind_of = _value_kinds.get
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        kind = kind_of(type(value)) or _kind_of(type(value))
        if kind == _NODE:
            yield name, value
        elif kind == _SEQUENCE:
            for item in value:
                if (kind_of(type(item)) or _kind_of(type(item))) == _NODE:
                    yield name, item


def _append_children(node: cst.CSTNode, into: List[cst.CSTNode]) -> None:
    """Append the children of ``node`` that carry meaning to ``into``: what
    ``iter_children`` yields, without a generator's cost per node."""
    kind_of = _value_kinds.get
    for name in _child_fields_cache.get(type(node)) or _child_fields(type(node)):
        value = getattr(node, name)
        kind = kind_of(type(value)) or _kind_of(type(value))
        if kind == _NODE:
            into.append(value)
        elif kind == _SEQUENCE:
            for item in value:
                if (kind_of(type(item)) or _kind_of(type(item))) == _NODE:
                    into.append(item)


SCOPE_TYPES = (cst.Module, cst.FunctionDef, cst.ClassDef, cst.Lambda)
_SCOPE_TYPE_SET = frozenset(SCOPE_TYPES)
_FUNCTION_OR_CLASS = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})


class SyntaxTree:
    """A parsed module plus the indexes built in the single shared walk."""

    def __init__(self, module: cst.Module, visited_types: Iterable[Type[cst.CSTNode]] = ()):
        self.module = module
        self.parent: Dict[cst.CSTNode, cst.CSTNode] = {}
        # Name nodes that refer to a variable (not attribute names, not keywords).
        self.names: Dict[str, List[cst.Name]] = defaultdict(list)
        # Attribute nodes by the attribute's name: ``x.join`` is under "join".
        self.attributes: Dict[str, List[cst.Attribute]] = defaultdict(list)
        self.imports: List[cst.CSTNode] = []
        self.class_defs: List[cst.ClassDef] = []
        self.function_defs: List[cst.FunctionDef] = []
        self.calls: List[cst.Call] = []
        self.visited: List[cst.CSTNode] = []
        # Memos of the navigation below: each node's scope, whether it runs
        # under ``pytest.raises`` (or another test context), and the method around each scope.
        self._scopes: Dict[cst.CSTNode, cst.CSTNode] = {}
        self._test_contexts: Dict[FrozenSet[str], Dict[cst.CSTNode, bool]] = {}
        self._methods: Dict[cst.CSTNode, Optional[Tuple[cst.FunctionDef, cst.ClassDef, str]]] = {}
        self._scope_nodes: Dict[cst.CSTNode, Dict[type, List[cst.CSTNode]]] = {}
        self._walk(frozenset(visited_types))

    def _walk(self, visited_types: frozenset) -> None:
        parent = self.parent
        names = self.names
        attributes = self.attributes
        visited = self.visited
        calls = self.calls
        fields_of = _child_fields_cache.get
        kind_of = _value_kinds.get
        # A Name that labels (``x.attr``, ``f(keyword=...)``) is not pushed,
        # unless a rule visits names: then every Name is, and sorted out here.
        visits_names = cst.Name in visited_types
        stack: List[cst.CSTNode] = [self.module]
        push = stack.append
        pop = stack.pop
        while stack:
            node = pop()
            node_type = type(node)
            if node_type in visited_types:
                visited.append(node)
            if node_type is cst.Name:
                if not visits_names or not _is_label(node, parent[node]):
                    names[node.value].append(node)
                continue
            if node_type is cst.Call:
                calls.append(node)
            elif node_type is cst.Attribute:
                attributes[node.attr.value].append(node)
            elif node_type is cst.Import or node_type is cst.ImportFrom:
                self.imports.append(node)
            elif node_type is cst.ClassDef:
                self.class_defs.append(node)
            elif node_type is cst.FunctionDef:
                self.function_defs.append(node)
            label = None if visits_names else _LABEL_FIELDS.get(node_type)
            for field_name in fields_of(node_type) or _child_fields(node_type):
                value = getattr(node, field_name)
                kind = kind_of(type(value)) or _kind_of(type(value))
                if kind == _NODE:
                    parent[value] = node
                    if field_name != label or type(value) is not cst.Name:
                        push(value)
                elif kind == _SEQUENCE:
                    for item in value:
                        if (kind_of(type(item)) or _kind_of(type(item))) == _NODE:
                            parent[item] = node
                            push(item)
        # The walk is depth-first but not in source order: findings are sorted
        # by position at the end, so no rule depends on the order.

    # -- navigation -------------------------------------------------------------
    #
    # Every question about where a node sits is answered by climbing to its
    # scope and then from scope to scope, never by walking all its ancestors:
    # ``enclosing_scope`` remembers the answer for every node it passes, so a
    # deep ``elif`` chain or a long class is climbed once, not once per query.

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        parent = self.parent.get(node)
        while parent is not None:
            yield parent
            parent = self.parent.get(parent)

    def enclosing_scope(self, node: cst.CSTNode) -> cst.CSTNode:
        """The innermost module, function, class or lambda that contains ``node``."""
        known = self._scopes.get(node)
        if known is not None:
            return known
        parent_of = self.parent.get
        climbed = [node]
        current = node
        while True:
            parent = parent_of(current)
            if parent is None:
                scope = self.module
                break
            if type(parent) in _SCOPE_TYPE_SET:
                scope = parent
                break
            known = self._scopes.get(parent)
            if known is not None:
                scope = known
                break
            climbed.append(parent)
            current = parent
        for passed in climbed:
            self._scopes[passed] = scope
        return scope

    def scope_chain(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        """The scopes around ``node``, innermost first, ending with the module."""
        scope = self.enclosing_scope(node)
        while True:
            yield scope
            if scope is self.module:
                return
            scope = self.enclosing_scope(scope)

    def enclosing_function(self, node: cst.CSTNode) -> Optional[cst.FunctionDef]:
        for scope in self.scope_chain(node):
            if type(scope) is cst.FunctionDef:
                return scope
        return None

    def is_inside(self, node: cst.CSTNode, container: cst.CSTNode) -> bool:
        if node is container:
            return True
        if type(container) in _SCOPE_TYPE_SET:
            return any(scope is container for scope in self.scope_chain(node))
        return any(ancestor is container for ancestor in self.ancestors(node))

    def assigned_value(self, target: cst.CSTNode) -> Optional[cst.BaseExpression]:
        """The value of ``target = value`` when ``target`` is that assignment's target."""
        holder = self.parent.get(target)
        if isinstance(holder, cst.AssignTarget):
            assign = self.parent.get(holder)
            if isinstance(assign, cst.Assign):
                return assign.value
        if isinstance(holder, cst.AnnAssign) and holder.target is target:
            return holder.value
        return None

    def expected_to_raise(self, node: cst.CSTNode) -> bool:
        """``node`` runs inside ``with pytest.raises(...)`` or
        ``with self.assertRaises(...)`` in its own function: the test expects
        it to fail, so what it creates never exists and its loop ends."""
        return self._under_test_context(node, _RAISES_CONTEXTS)

    def expected_to_warn(self, node: cst.CSTNode) -> bool:
        """``node`` runs inside ``with self.assertWarns(...)``,
        ``pytest.warns(...)`` or ``check_warnings(...)`` in its own function:
        the test provokes the warning on purpose."""
        return self._under_test_context(node, _WARNS_CONTEXTS)

    def _under_test_context(self, node: cst.CSTNode, contexts: FrozenSet[str]) -> bool:
        """``node`` runs inside ``with <one of contexts>(...)`` in its own
        function.  The answer is remembered for every node climbed past."""
        memo = self._test_contexts.setdefault(contexts, {})
        parent_of = self.parent.get
        climbed = []
        current = node
        while True:
            known = memo.get(current)
            if known is not None:
                answer = known
                break
            climbed.append(current)
            parent = parent_of(current)
            if parent is None or type(parent) in _FUNCTION_OR_CLASS:
                answer = False
                break
            if type(parent) is cst.With and _with_calls_one_of(parent, contexts):
                answer = True
                break
            current = parent
        for passed in climbed:
            memo[passed] = answer
        return answer

    def scope_nodes(self, root: cst.CSTNode) -> Dict[type, List[cst.CSTNode]]:
        """The nodes of ``walk_scope(root)`` by their type.  A function's body
        is asked about several times (does it yield? what does it return?
        what does it await?): it is walked once, and each question reads the
        types it cares about.  Do not change what it returns."""
        found = self._scope_nodes.get(root)
        if found is None:
            found = self._scope_nodes[root] = {}
            for node in walk_scope(root):
                node_type = type(node)
                nodes = found.get(node_type)
                if nodes is None:
                    found[node_type] = [node]
                else:
                    nodes.append(node)
        return found

    def yields(self, function: Optional[cst.FunctionDef]) -> bool:
        """``function`` yields (in its own body, not in a nested one): a generator."""
        return function is not None and cst.Yield in self.scope_nodes(function.body)

    def method_owner(self, function: cst.FunctionDef) -> Optional[cst.ClassDef]:
        """The class whose body defines ``function`` directly, if any."""
        block = self.parent.get(function)
        owner = self.parent.get(block) if block is not None else None
        return owner if type(owner) is cst.ClassDef else None

    def self_name(self, function: cst.FunctionDef) -> Optional[str]:
        """The name a method uses for its instance (usually ``self``)."""
        if self.method_owner(function) is None:
            return None
        for decorator in function.decorators:
            if isinstance(decorator.decorator, cst.Name) and decorator.decorator.value in (
                "staticmethod",
                "classmethod",
            ):
                return None
        params = function.params.posonly_params or function.params.params
        return params[0].name.value if params else None

    def enclosing_method(self, node: cst.CSTNode) -> Optional[Tuple[cst.FunctionDef, cst.ClassDef, str]]:
        """The method (possibly through nested closures) that holds ``node``,
        with its class and its instance name."""
        scope = self.enclosing_scope(node)
        if scope not in self._methods:
            self._methods[scope] = self._method_around(scope)
        return self._methods[scope]

    def _method_around(self, scope: cst.CSTNode) -> Optional[Tuple[cst.FunctionDef, cst.ClassDef, str]]:
        while scope is not self.module:
            if type(scope) is cst.FunctionDef:
                owner = self.method_owner(scope)
                if owner is not None:
                    self_name = self.self_name(scope)
                    return None if self_name is None else (scope, owner, self_name)
            elif type(scope) is cst.ClassDef:
                return None
            scope = self.enclosing_scope(scope)
        return None


def _with_calls_one_of(statement: cst.With, contexts: FrozenSet[str]) -> bool:
    for item in statement.items:
        func = item.item.func if isinstance(item.item, cst.Call) else None
        name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
        if name in contexts:
            return True
    return False


_RAISES_CONTEXTS = frozenset({"raises", "assertRaises", "assertRaisesRegex"})
_WARNS_CONTEXTS = frozenset({"warns", "assertWarns", "assertWarnsRegex", "check_warnings"})


# The field of each node type whose Name labels something (see ``_is_label``).
_LABEL_FIELDS: Dict[type, str] = {cst.Attribute: "attr", cst.Arg: "keyword", cst.ImportFrom: "module"}


def _is_label(name: cst.Name, parent: cst.CSTNode) -> bool:
    """A Name that labels something rather than referring to a variable:
    ``x.attr``, ``f(keyword=...)``, ``from module import ...``."""
    parent_type = type(parent)
    if parent_type is cst.Attribute:
        return parent.attr is name
    if parent_type is cst.Arg:
        return parent.keyword is name
    if parent_type is cst.ImportFrom:
        return parent.module is name
    return False


def is_async(function: Optional[cst.FunctionDef]) -> bool:
    return function is not None and function.asynchronous is not None


def walk_scope(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node under ``root`` that runs as part of it: nested function,
    class and lambda bodies are left out (they run at another time)."""
    stack: List[cst.CSTNode] = [root]
    children: List[cst.CSTNode] = []
    while stack:
        node = stack.pop()
        yield node
        _append_children(node, children)
        for child in children:
            if type(child) not in _FUNCTION_OR_CLASS:
                stack.append(child)
        children.clear()


def walk_all(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node under ``root``, nested scopes included."""
    stack: List[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        yield node
        _append_children(node, stack)
