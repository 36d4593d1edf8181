"""Where an AI step's data come from, checked when the DAG is parsed.

No value may reach a governed AI callable or model prompt without passing its use case's data
boundary. The cluster policy refuses an AI task (whose boundary is a separate task) whose data
arguments come from anywhere but that boundary task's output: literals, other tasks' XComs,
``params``/``dag_run.conf``/Variables/connections in templates, and callable parameters that
Airflow fills from the task context. At run time the AI task applies the boundary again to exactly
what it received (``GovernedMixin.guard_ai_input``), so what this parse-time check cannot see
still fails closed.

Nothing here imports Airflow: the cluster policy hands over a task's field values (XComArgs are
recognised by their ``iter_references()``) and the DAG's Jinja environment.
"""

from __future__ import annotations

import inspect
import numbers
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import jinja2
    from jinja2 import nodes

#: The arguments of an AI callable: data, so no literal may carry any.
DATA_FIELDS: tuple[str, ...] = ("op_args", "op_kwargs", "templates_dict")
#: The author's own text sent to a model (instructions): literals are fine, templates are checked.
TEXT_FIELDS: tuple[str, ...] = ("prompt", "system_prompt", "model_settings")
#: A literal number with more digits could be a card, phone, SSN or account number.
MAX_LITERAL_DIGITS = 6
#: Context values that are dates of the run, never free text; usable bare (``{{ ds }}``) in a template.
DATE_NAMES = frozenset(
    {
        "ds",
        "ds_nodash",
        "ts",
        "ts_nodash",
        "ts_nodash_with_tz",
        "logical_date",
        "data_interval_start",
        "data_interval_end",
    }
)
_PULL_NAMES = frozenset({"ti", "task_instance"})
_PULL_KEYWORDS = frozenset({"task_ids", "key", "map_indexes"})
_TEMPLATE_MARKS = ("{{", "{%", "{#")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")

SourceKind = Literal["xcom", "literal", "context", "callable"]


@dataclass(frozen=True, slots=True)
class Source:
    """One place a value in an AI task's arguments comes from.

    ``xcom``: another task's XCom (``task_id``, ``key``), by XComArg or a templated
    ``ti.xcom_pull``; ``literal``: a value written into the DAG; ``context``: a template name
    from Airflow's context (``params``, ``dag_run``, ``var``, ...); ``callable``: a callable
    parameter Airflow fills from the context. ``what`` describes it without quoting any value.
    """

    argument: str
    kind: SourceKind
    what: str
    task_id: str | None = None
    key: str | None = None


def plain_name(value: object) -> bool:
    """A dictionary key or subscript that cannot carry personal data: an identifier of at most
    64 characters with at most :data:`MAX_LITERAL_DIGITS` digits."""
    return (
        isinstance(value, str)
        and _NAME.match(value) is not None
        and sum(ch.isdigit() for ch in value) <= MAX_LITERAL_DIGITS
    )


def harmless_literal(value: object) -> bool:
    """``None``, a bool, or a number of at most :data:`MAX_LITERAL_DIGITS` digits (``top_k=3``)."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, numbers.Real):
        return sum(ch.isdigit() for ch in repr(value)) <= MAX_LITERAL_DIGITS
    return False


def _is_xcom_arg(value: object) -> bool:
    return callable(getattr(value, "iter_references", None)) and not isinstance(value, str | bytes | Mapping)


def value_sources(
    value: Any, argument: str, *, text_ok: bool, env: jinja2.Environment | None = None
) -> Iterator[Source]:
    """The sources of ``value`` (nested lists, tuples, sets and dicts walked).

    With ``text_ok`` (the author's instructions to a model) literals are allowed and only
    templates and XComArgs are sources; otherwise every literal that may carry data is one.
    """
    if _is_xcom_arg(value):
        for operator, key in value.iter_references():
            yield Source(
                argument, "xcom", f"the XCom {key!r} of task {operator.task_id!r}", operator.task_id, key
            )
        return
    if isinstance(value, str):
        if any(mark in value for mark in _TEMPLATE_MARKS):
            yield from template_sources(value, argument, text_ok=text_ok, env=env)
        elif value.strip() and not text_ok:
            yield Source(argument, "literal", f"a literal string ({len(value)} characters)")
        return
    if harmless_literal(value):
        return
    if isinstance(value, Mapping):
        for key, child in value.items():
            if not plain_name(key):
                if not text_ok:
                    yield Source(argument, "literal", "a dictionary key that is not a plain name")
                where = f"{argument}[<key>]"
            else:
                where = f"{argument}[{key!r}]"
            yield from value_sources(child, where, text_ok=text_ok, env=env)
        return
    if isinstance(value, list | tuple | set | frozenset):
        for i, child in enumerate(value):
            yield from value_sources(child, f"{argument}[{i}]", text_ok=text_ok, env=env)
        return
    if not text_ok:
        yield Source(argument, "literal", f"a literal {type(value).__name__}")


def _parents(root: nodes.Node) -> dict[int, nodes.Node]:
    parents: dict[int, nodes.Node] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        for child in node.iter_child_nodes():
            parents[id(child)] = node
            stack.append(child)
    return parents


def _const_strings(node: nodes.Node) -> list[str] | None:
    from jinja2 import nodes as n

    if isinstance(node, n.Const) and isinstance(node.value, str):
        return [node.value]
    if (  # Jinja folds a constant list into one Const while it compiles
        isinstance(node, n.Const)
        and isinstance(node.value, list | tuple)
        and all(isinstance(v, str) for v in node.value)
    ):
        return list(node.value)
    if isinstance(node, n.List | n.Tuple) and all(
        isinstance(i, n.Const) and isinstance(i.value, str) for i in node.items
    ):
        return [i.value for i in node.items]  # type: ignore[attr-defined]
    return None


def _pull_sources(call: nodes.Call, argument: str, name: str) -> Iterator[Source]:
    """The XComs a ``ti.xcom_pull(...)`` call reads, or the reason it is refused."""
    from jinja2 import nodes as n

    bad = f"{name}.xcom_pull() with arguments other than task_ids=<constant>, key=<constant>, map_indexes"
    if call.dyn_args is not None or call.dyn_kwargs is not None or len(call.args) > 1:
        yield Source(argument, "context", bad)
        return
    given: dict[str, nodes.Expr] = {"task_ids": call.args[0]} if call.args else {}
    for kw in call.kwargs:
        if kw.key not in _PULL_KEYWORDS or kw.key in given:
            yield Source(argument, "context", bad)
            return
        given[kw.key] = kw.value
    task_ids = _const_strings(given["task_ids"]) if "task_ids" in given else None
    keys = _const_strings(given["key"]) if "key" in given else ["return_value"]
    indexes = given.get("map_indexes")
    items = indexes.items if isinstance(indexes, n.List | n.Tuple) else [indexes] if indexes else []
    constant_indexes = all(
        isinstance(i, n.Const)
        and (
            isinstance(i.value, int)
            or (isinstance(i.value, list | tuple) and all(isinstance(v, int) for v in i.value))
        )
        for i in items
    )
    if not task_ids or not keys or len(keys) != 1 or not constant_indexes:
        yield Source(argument, "context", bad)
        return
    for task_id in task_ids:
        yield Source(argument, "xcom", f"the XCom {keys[0]!r} of task {task_id!r}", task_id, keys[0])


def template_sources(
    text: str, argument: str, *, text_ok: bool, env: jinja2.Environment | None = None
) -> Iterator[Source]:
    """The sources of a Jinja template: ``ti.xcom_pull(task_ids=...)`` calls, context names, and
    (unless ``text_ok``) literal text or constants around them."""
    import jinja2
    from jinja2 import meta
    from jinja2 import nodes as n

    env = env or jinja2.Environment()
    try:
        ast = env.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        yield Source(argument, "context", f"a template that does not parse ({exc.message})")
        return
    if any(True for _ in ast.find_all((n.Include, n.Import, n.FromImport, n.Extends))):
        yield Source(argument, "context", "a template that loads another template (include/import/extends)")
    parents = _parents(ast)
    pulled: set[int] = set()
    for name in sorted(meta.find_undeclared_variables(ast) - _PULL_NAMES - DATE_NAMES):
        yield Source(argument, "context", f"`{name}` from the template context")
    for node in ast.find_all(n.Name):
        if node.ctx != "load":
            continue
        parent = parents.get(id(node))
        if node.name in DATE_NAMES:
            if isinstance(parent, n.Getattr | n.Getitem | n.Call) and parent.node is node:
                yield Source(argument, "context", f"`{node.name}` used other than bare (e.g. {{{{ ds }}}})")
            continue
        if node.name not in _PULL_NAMES:
            continue
        call = parents.get(id(parent)) if parent is not None else None
        if not (
            isinstance(parent, n.Getattr)
            and parent.attr == "xcom_pull"
            and isinstance(call, n.Call)
            and call.node is parent
        ):
            yield Source(
                argument, "context", f"`{node.name}` used other than as {node.name}.xcom_pull(task_ids=...)"
            )
            continue
        found = list(_pull_sources(call, argument, node.name))
        if all(s.kind == "xcom" for s in found):
            pulled.update(id(c) for c in call.find_all(n.Const))
        yield from found
    if text_ok:
        return
    if any(d.data.strip() for d in ast.find_all(n.TemplateData)):
        yield Source(argument, "literal", "literal text around the template")
    for const in ast.find_all(n.Const):
        if id(const) in pulled:
            continue
        if plain_name(const.value) if isinstance(const.value, str) else harmless_literal(const.value):
            continue
        yield Source(argument, "literal", "a literal inside the template")


def callable_sources(
    func: Callable[..., Any] | None,
    *,
    positional: int,
    bound: Collection[str],
    context_keys: Collection[str],
) -> Iterator[Source]:
    """Parameters of an AI callable that Airflow would fill from the task context.

    ``positional`` arguments (``op_args``) and the ``bound`` keyword names (``op_kwargs``, mapped
    names) are the caller's; ``templates_dict`` is checked as an argument. ``**kwargs`` receives
    the whole context and is refused.
    """
    if func is None:
        return
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # a builtin without a signature: takes nothing from the context
        return
    name = getattr(func, "__name__", "callable")
    for i, param in enumerate(signature.parameters.values()):
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            yield Source(
                f"{name}(**{param.name})",
                "callable",
                "the whole Airflow context (params, dag_run.conf, ti, ...)",
            )
        elif (
            param.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
            and param.name in context_keys
            and param.name != "templates_dict"
            and param.name not in bound
            and not (param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and i < positional)
        ):
            yield Source(f"{name}({param.name})", "callable", f"`{param.name}` from the Airflow context")


def field_sources(
    fields: Iterable[tuple[str, str, Any]], env: jinja2.Environment | None = None
) -> Iterator[Source]:
    """The sources of an AI task's ``(field, label, value)`` triples: ``DATA_FIELDS`` strictly,
    ``TEXT_FIELDS`` as the author's text; ``label`` names the argument in messages."""
    for name, label, value in fields:
        if name in DATA_FIELDS:
            yield from value_sources(value, label, text_ok=False, env=env)
        elif name in TEXT_FIELDS:
            yield from value_sources(value, label, text_ok=True, env=env)


def flow_problems(
    where: str,
    sources: Iterable[Source],
    *,
    use_case: str,
    boundaries: Collection[str],
    upstream: Collection[str],
    inline_boundary: bool,
) -> list[str]:
    """One message per source an AI task may not take its data from.

    ``boundaries``: the DAG's data-boundary tasks of ``use_case``. With the boundary inline the
    task checks its own arguments at run time; only context parameters of its callable are refused.
    """
    problems: list[str] = []
    near = sorted(b for b in boundaries if b in upstream)
    fix = (
        f"pass it the output of {', '.join(map(repr, near))} (its XComArg, or "
        f"{{{{ ti.xcom_pull(task_ids={near[0]!r}) }}}} in a template)"
        if near
        else f"pass the data through a DataBoundaryOperator(use_case={use_case!r}) upstream and give "
        "the task its output"
    )
    for source in sources:
        if source.kind == "callable":
            problems.append(
                f"{where}: argument {source.argument} takes {source.what}; a governed AI callable gets "
                f"its data only through its arguments, which pass the data boundary: remove the parameter "
                f"and {fix}"
            )
            continue
        if inline_boundary:
            continue
        if source.kind == "xcom":
            if source.task_id in boundaries and source.key == "return_value" and source.task_id in upstream:
                continue
            if source.task_id in boundaries and source.key != "return_value":
                why = f"{source.what} (only the boundary's return value is checked data)"
            elif source.task_id in boundaries:
                why = f"{source.what}, which is not upstream of it"
            else:
                why = f"{source.what}, which is not a data boundary of {use_case!r}"
        else:
            why = source.what
        problems.append(
            f"{where}: data argument {source.argument} takes {why}; an AI task may take its data only "
            f"from its use case's data boundary: {fix}, or run the boundary inside the task "
            "(inline_gates=['data_boundary'])"
        )
    return problems
