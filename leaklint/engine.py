"""Check one file: parse once, run every enabled rule in one pass.

The steps, each skipped when it cannot matter:

1. Decode the bytes the way Python does (BOM, PEP 263 cookie).
2. Pre-check: a rule whose ``trigger`` text does not occur cannot fire, nor
   one whose ``modules`` are named in no import (unless the project hands
   the module what the rule judges: its ``kinds``).
3. Python's own parser (about eight times cheaper than libcst) reads the
   file first: a broken file is still reported, and every rule's trigger
   asks a question of Python's tree (``Trigger.tree``: is a constructor of
   the rule's named? is there a ``while True`` with no way out?); libcst
   parses the file only if one of them answers yes, or if the project hands
   the module something a rule judges.  A file where no rule's text occurs
   and that the project index has read already (another module imports it)
   is not parsed again: the index's summary of the same bytes says that it
   compiles and what it imports.  When a rule is given without a tree
   question, or the pre-checks are off, a file that libcst will parse
   anyway skips Python's parser unless a cheap scan says a statement may
   nest deeply enough to crash libcst's native parser: then Python's parser
   refuses it first.  When libcst rejects a file, Python's parser words the
   error.
4. Parse with libcst, walk the tree once to build the shared facts, drop the
   rules whose modules are not imported, and call each remaining rule's
   ``visit_*`` methods for the nodes it asked for.
5. Compute positions for the reported nodes only (and for the nodes their
   fixes name, in the same pass), and turn each fix into text edits.

Every failure becomes a one-line ``FileResult.error``; a rule that raises is
stopped for this file and the other rules' findings are kept.
"""

from __future__ import annotations

import ast
import io
import re
import threading
import tokenize
import warnings
from functools import lru_cache
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence, Tuple, Type, Union

import libcst as cst

from leaklint.analysis import FileFacts
from leaklint.analysis.project import NO_FILE_NAMES, ModuleView, ProjectIndex, summary_of_cst
from leaklint.analysis.summary import ModuleSummary, summarize
from leaklint.analysis.edits import PlannedFix, SourceLines, plan_nodes, resolve
from leaklint.analysis.tree import SyntaxTree
from leaklint.deep import call_with_deep_stack
from leaklint.finding import FileResult, Finding
from leaklint.positions import positions
from leaklint.registry import all_rules
from leaklint.rule import HandleRule, Rule


class SourceError(Exception):
    """The file cannot be checked; the message is the one line users see."""


def decode_source(data: bytes) -> str:
    """Text of a Python file, decoded as the interpreter would."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        raise SourceError(f"cannot decode: {error.msg if hasattr(error, 'msg') else error}") from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise SourceError(f"cannot decode as {encoding}: {error.reason if hasattr(error, 'reason') else error}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def check_source(
    source: Union[str, bytes],
    path: str = "<string>",
    rules: Optional[Sequence[Type[Rule]]] = None,
    precheck: bool = True,
    project: Optional[ProjectIndex] = None,
) -> FileResult:
    """Check one file's source with ``rules`` (default: all rules).  With a
    ``project`` index, what the project's other modules do is known too (a
    helper of theirs that returns a task makes a task here)."""
    result = FileResult(path)
    if path in NO_FILE_NAMES:
        project = None  # a buffer with no file name has no project around it
    try:
        text = decode_source(source) if isinstance(source, bytes) else source
        if "\0" in text:
            raise SourceError("source contains null bytes")
        selected = all_rules() if rules is None else rules
        candidates = _candidate_rules(text, selected, precheck)
        view = None
        offered: Optional[FrozenSet[str]] = None
        python_tree: Optional[ast.Module] = None
        own: Optional[ModuleSummary] = None  # the module's own summary, for the project's view
        if not candidates or (precheck and all(_tree_trigger(rule) is not None for rule in candidates)):
            # Python's parser alone says whether the file is broken, what the
            # file imports whether the project makes it a candidate, and
            # whether the rules that asked for it can fire at all.
            if not candidates and project is not None and isinstance(source, bytes):
                # A module that another file imports has been read by the
                # index already: its summary of these very bytes says that it
                # compiles and what it imports.  No rule needs its tree.
                known = project.known_summary(source)
                own = known.without_bodies() if known is not None and known.error is None else None
            if own is None:
                python_tree, python_error = _python_parse(text)
                if python_error is not None and not candidates:
                    raise SourceError(python_error)
                if python_tree is not None and project is not None:
                    own = summarize(python_tree, bodies=False)
        if python_tree is not None or own is not None:
            if own is not None:
                assert project is not None
                view = project.view(path, own)
                result.dependencies = view.dependencies
            asked = candidates if python_tree is not None else []
            if python_tree is not None:
                candidates = [rule for rule in candidates if _tree_trigger(rule)(python_tree, view)]
            if view is not None:
                offered = view.kinds_offered()
                for rule in _offered_rules(selected, offered):
                    if rule in candidates or (rule in asked and rule.tree_sees_project()):
                        continue  # its question had the project's view, and said no
                    if rule.tree_sees_project():
                        if python_tree is None:
                            python_tree = _python_parse(text)[0]  # the index's summary spared it so far
                        if python_tree is not None and not _tree_trigger(rule)(python_tree, view):
                            continue
                    candidates.append(rule)
            if not candidates:
                return result
            python_tree = None  # both trees of a large file at once would double its peak memory
        elif may_nest_deeply(text):
            _python_syntax_error(text)  # refuses nesting that would crash libcst
        module = _parse(text)
        if project is not None and offered is None:
            view = project.view(path, summary_of_cst(module))
            result.dependencies = view.dependencies
            offered = view.kinds_offered()
            candidates = candidates + [rule for rule in _offered_rules(selected, offered) if rule not in candidates]
        offered = offered or frozenset()
        _run_rules(module, candidates, result, text, view, offered)
    except SourceError as error:
        result.error = str(error)
    except RecursionError:
        result.error = "too deeply nested to analyse"
    except MemoryError:
        result.error = "out of memory while analysing"
    return result


def _offered_rules(rules: Sequence[Type[Rule]], offered: FrozenSet[str]) -> List[Type[Rule]]:
    """The rules about the kinds of thing the project hands this module
    (a helper returning a task: the task rules), whatever its text says."""
    return [rule for rule in rules if offered.intersection(rule.kinds)] if offered else []


def _candidate_rules(text: str, rules: Sequence[Type[Rule]], precheck: bool) -> List[Type[Rule]]:
    """The rules whose trigger text occurs, and one of whose ``modules`` (if
    they name any) may be imported: the others cannot fire unless the project
    hands the module what they judge (the engine adds those rules later)."""
    if not precheck:
        return list(rules)
    # Rules share triggers and modules (the three queue rules): each is
    # looked for once, the modules first (a few string searches).
    found_texts: Dict[str, bool] = {}
    found_imports: Dict[Tuple[str, ...], bool] = {}
    candidates = []
    for rule in rules:
        modules = _module_roots(rule)
        if modules:
            if modules not in found_imports:
                found_imports[modules] = any(_may_import(text, module) for module in modules)
            if not found_imports[modules]:
                continue
        trigger = rule.trigger_text()
        if trigger not in found_texts:
            found_texts[trigger] = any(search(text) is not None for search in _fast_searches(trigger))
        if found_texts[trigger]:
            candidates.append(rule)
    return candidates


@lru_cache(maxsize=None)
def _fast_searches(pattern: str) -> Tuple[Callable[[str], Optional["re.Match[str]"]], ...]:
    """Searches that together find a match of ``pattern`` wherever it has one,
    each fast: Python's ``re`` scans for a pattern's leading literal text as
    quickly as ``str.find``, but tries an alternation (``a|b``) or a leading
    ``\\b`` at every character, some forty times slower.  So the top-level
    alternatives are searched one by one (``a|b`` occurs if ``a`` or ``b``
    does), and ``\\bword...`` is searched as ``word(?<=\\bword)...``, the same
    matches with ``word`` first."""
    if _GLOBAL_FLAGS.match(pattern):
        return (re.compile(pattern).search,)  # ``(?i)`` holds for every alternative
    searches = []
    for alternative in _top_level_alternatives(pattern):
        leading = _LEADING_WORD.match(alternative)
        if leading is not None:
            word = leading.group(1)
            alternative = f"{word}(?<=\\b{word}){alternative[leading.end():]}"
        searches.append(re.compile(alternative).search)
    return tuple(searches)


_LEADING_WORD = re.compile(r"\\b(\w+)(?![*+?{])")
_GLOBAL_FLAGS = re.compile(r"\(\?[aiLmsux]+\)")


def _top_level_alternatives(pattern: str) -> List[str]:
    """``pattern`` split at each ``|`` outside groups and character classes."""
    alternatives = []
    depth = 0
    in_class = False
    start = 0
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            if char == "]" and not (pattern[index - 1] == "[" or pattern[index - 2 : index] == "[^"):
                in_class = False
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            alternatives.append(pattern[start:index])
            start = index + 1
        index += 1
    alternatives.append(pattern[start:])
    return alternatives


@lru_cache(maxsize=None)
def _module_roots(rule: Type[Rule]) -> Tuple[str, ...]:
    """The first part of each of the rule's modules: every import of
    ``concurrent.futures`` names ``concurrent`` (``from concurrent import futures``)."""
    return tuple(dict.fromkeys(module.partition(".")[0] for module in rule.modules))


_BETWEEN_TOKENS = frozenset(" \t\f\v\r\n\\")


def _may_import(text: str, module: str) -> bool:
    """``module`` occurs where an import names it: followed by no letter,
    digit or underscore, and after ``import``, ``from`` or a comma (``import
    os, queue``) with only spaces or backslashes between.  Every import
    statement that binds it does (the ``ImportTable`` that the rules ask
    reads the same text), so no match means the module is not imported; a
    comment or a string may match too, which only costs the parse."""
    start = text.find(module)
    while start != -1:
        end = start + len(module)
        if end == len(text) or not _is_word_char(text[end]):
            before = start - 1
            while before >= 0 and text[before] in _BETWEEN_TOKENS:
                before -= 1
            if before >= 0 and (text[before] == "," or _keyword_ends_at(text, before)):
                return True
        start = text.find(module, end)
    return False


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _keyword_ends_at(text: str, last: int) -> bool:
    """``import`` or ``from`` ends at index ``last``, a whole word on its left."""
    for keyword in ("import", "from"):
        first = last - len(keyword) + 1
        if first >= 0 and text.startswith(keyword, first) and (first == 0 or not _is_word_char(text[first - 1])):
            return True
    return False


@lru_cache(maxsize=None)
def _tree_trigger(rule: Type[Rule]) -> Optional[Callable[[ast.Module, Optional[ModuleView]], bool]]:
    return rule.tree_trigger()


# What CPython says when a file nests deeper than any parser should follow.
_TOO_DEEP = ("too many nested", "too complex", "recursion")


def _python_syntax_error(text: str) -> Optional[str]:
    return _python_parse(text)[1]


def _python_parse(text: str) -> Tuple[Optional[ast.Module], Optional[str]]:
    """Python's own parser goes first: ten times cheaper than libcst, it
    reports a broken file in the words and at the position users know, and it
    refuses nesting so deep that libcst's native parser would overflow its
    stack (and kill the process) or take minutes.  The tree, or the error
    when Python rejects the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # warnings about the user's code are not ours to print
            return ast.parse(text), None
    except SyntaxError as error:
        if any(marker in str(error.msg) for marker in _TOO_DEEP):
            raise SourceError(f"too deeply nested to analyse ({error.msg})") from None
        return None, f"syntax error at {error.lineno}:{error.offset or 1}: {error.msg}"
    except (RecursionError, MemoryError):
        raise SourceError("too deeply nested to analyse") from None


# Beyond these, a statement may nest deeply enough to crash libcst's native
# parser or to take it minutes; below them it cannot (see ``may_nest_deeply``).
_SAFE_BRACKET_DEPTH = 100
_SAFE_STATEMENT_CHARS = 2000


def may_nest_deeply(text: str) -> bool:
    """A cheap upper bound (about 1% of a libcst parse) on how deeply a
    statement of ``text`` can nest: False when every statement is short and
    bracket nesting is shallow, so libcst is safe without asking Python's
    parser first.  Brackets inside strings and comments are counted too, so
    this errs towards True, which only costs the full check."""
    depth = 0
    statement_chars = 0
    for line in text.splitlines():
        opened = line.count("(") + line.count("[") + line.count("{")
        if depth + opened > _SAFE_BRACKET_DEPTH:
            return True
        depth = max(0, depth + opened - line.count(")") - line.count("]") - line.count("}"))
        statement_chars += len(line)
        if statement_chars > _SAFE_STATEMENT_CHARS:
            return True
        if depth == 0 and not line.endswith("\\"):
            statement_chars = 0  # the statement (as far as brackets tell) ends here
    return False


class _ParseState(threading.local):
    unvalidated = False


_parse_state = _ParseState()
_validate_new_node = getattr(cst.CSTNode, "__post_init__", None)


def _post_init(node: cst.CSTNode) -> None:
    # Every node libcst builds checks its own fields (``_validate``): a guard
    # for trees built by hand, an eighth of a parse, while a tree its parser
    # builds from source is well formed by construction (libcst's own "PERF"
    # note on ``CSTNode.__post_init__`` says as much).  Only a thread inside
    # ``_parse`` skips it: nodes built anywhere else, by leaklint's fixes or by
    # another user of libcst in the same process, are checked as before.
    if not _parse_state.unvalidated:
        _validate_new_node(node)  # type: ignore[misc]


if callable(_validate_new_node):  # a libcst without the hook: nothing to skip
    cst.CSTNode.__post_init__ = _post_init  # type: ignore[method-assign]


def _parse(text: str) -> cst.Module:
    """Parse with libcst, which reads every Python version: a file Python
    rejects may still be newer Python (``type`` statements on 3.11), so libcst
    has the last word, and Python's message the first when both reject it."""
    try:
        _parse_state.unvalidated = True
        try:
            return cst.parse_module(text)
        finally:
            _parse_state.unvalidated = False
    except cst.ParserSyntaxError as error:
        python_error = _python_syntax_error(text)
        if python_error is None:  # valid Python that libcst cannot read
            raise SourceError(f"libcst cannot parse this file, although Python can: {_syntax_error_line(error)}") from None
        raise SourceError(python_error) from None
    except RecursionError:
        raise SourceError("too deeply nested to parse") from None
    except Exception as error:  # the native parser's own failures
        raise SourceError(f"cannot parse: {_one_line(error)}") from None


_PARSER_DETAIL = re.compile(r"^parser error: error at (\d+):(\d+): (.*)$")


def _syntax_error_line(error: cst.ParserSyntaxError) -> str:
    """libcst's native parser says ``parser error: error at 2:0: expected one of
    ), *, +, ...`` with a better position than ``raw_line``; users want
    Python's terse wording."""
    message = (str(error.message).splitlines() or ["invalid syntax"])[0]
    line, column = error.raw_line, error.raw_column + 1
    detail = _PARSER_DETAIL.match(message)
    if detail:
        line, column, message = int(detail.group(1)), int(detail.group(2)) + 1, detail.group(3)
    if message.startswith("expected one of") or not message:
        message = "invalid syntax"
    message = message.replace("tokenizer error: ", "")
    return f"syntax error at {line}:{column}: {message}"


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _run_rules(
    module: cst.Module,
    rules: Sequence[Type[Rule]],
    result: FileResult,
    text: str,
    project: Optional[ModuleView] = None,
    offered: FrozenSet[str] = frozenset(),
) -> None:
    visited_types = {node_type for rule in rules for node_type in _visits(rule)}
    tree = SyntaxTree(module, visited_types)
    facts = FileFacts(tree, project)
    reported: List[Tuple[Type[Rule], cst.CSTNode, str, Optional[PlannedFix]]] = []

    def reporter(rule: Rule, node: cst.CSTNode, message: str, fix: Optional[PlannedFix] = None) -> None:
        reported.append((type(rule), node, message, fix))

    dispatch: Dict[type, List] = {}
    # The handle rules that judge what calls create, by the kind they judge:
    # what a call creates is asked once for all of them, not once per rule.
    by_kind: Dict[str, List[HandleRule]] = {}
    handle_rules: List[HandleRule] = []  # in the order of ``rules``
    for rule_class in rules:
        if rule_class.modules and not facts.imports.imports_any(rule_class.modules) and not offered.intersection(rule_class.kinds):
            continue
        rule = rule_class(facts, reporter)
        for node_type, method_name in _visits(rule_class).items():
            if node_type is cst.Call and _judges_creations(rule_class):
                handle_rules.append(rule)
                for kind in dict.fromkeys(rule.kinds):
                    by_kind.setdefault(kind, []).append(rule)
            else:
                dispatch.setdefault(node_type, []).append((rule, getattr(rule, method_name)))
    failed: Dict[Rule, str] = {}

    def judge_creation(call: cst.Call) -> None:
        try:
            creation = facts.creation_of(call)
        except Exception as error:
            # As when each rule asked for itself: the first one still running
            # fails, and the others know nothing of this call and go on.
            running = [rule for rule in handle_rules if rule not in failed]
            if running:
                failed[running[0]] = _rule_error(running[0], error)
            return
        if creation is None:
            return
        for rule in by_kind.get(creation.kind, ()):
            if rule in failed:
                continue
            try:
                rule.check_handle(facts.handle(call), creation)
            except Exception as error:  # one rule's bug must not cost the others
                failed[rule] = _rule_error(rule, error)

    if by_kind:
        dispatch.setdefault(cst.Call, []).append((None, judge_creation))
    try:
        for node in tree.visited:
            for rule, visit in dispatch.get(type(node), ()):
                if rule in failed:
                    continue
                try:
                    visit(node)
                except Exception as error:  # one rule's bug must not cost the others
                    failed[rule] = _rule_error(rule, error)
        result.rule_errors = list(failed.values())
        result.findings = _findings(module, result.path, reported, text)
    finally:
        _release(facts)


def _release(facts: FileFacts) -> None:
    """Let the file's tree and facts go now, not at Python's next full
    collection.  Some facts refer to each other in cycles (a fact that asks
    another through a callback holding the ``FileFacts``), which only the
    cycle collector frees, so the whole tree of every file checked waited
    for it, and its full collections, walking all those trees, took a
    quarter of a run over a project.  Emptying the attributes of the facts
    (not of the project's view, which outlives the file) breaks every cycle
    through them; nothing asks them anything after the file is checked."""
    for fact in list(vars(facts).values()):
        if fact is not facts.project and hasattr(fact, "__dict__"):
            vars(fact).clear()
    vars(facts).clear()


@lru_cache(maxsize=None)
def _visits(rule: Type[Rule]) -> Dict[type, str]:
    return rule.visited_types()


def _rule_error(rule: Rule, error: Exception) -> str:
    return f"internal error in {rule.code} ({rule.name}): {_one_line(error)}"


def _judges_creations(rule: Type[Rule]) -> bool:
    """A handle rule whose only business with a call is what it creates
    (``HandleRule.visit_Call``, not one of its own)."""
    return issubclass(rule, HandleRule) and rule.visit_Call is HandleRule.visit_Call


def _findings(module: cst.Module, path: str, reported, text: str) -> List[Finding]:
    """Findings with their positions, and their fixes as text edits: the nodes
    a fix names are positioned in the same one pass as the reported nodes."""
    if not reported:
        return []
    nodes = [node for _, node, _, _ in reported] + plan_nodes([plan for *_, plan in reported])
    try:
        ranges = positions(module, nodes)
    except RecursionError:
        ranges = call_with_deep_stack(positions, module, nodes)
    lines = SourceLines(text) if any(plan is not None for *_, plan in reported) else None
    findings = set()
    for rule, node, message, plan in reported:
        start_line, start_column, end_line, end_column = ranges[node]
        fix = resolve(plan, ranges, lines) if plan is not None and lines is not None else None
        findings.add(Finding(path, start_line, start_column + 1, end_line, end_column + 1, rule.code, rule.name, message, fix))
    return sorted(findings)
