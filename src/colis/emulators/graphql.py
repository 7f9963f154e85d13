"""Shopify's Admin GraphQL contract as the emulator runs it: the published 2025-01 schema built
once per process into an executable graphql-core schema, documents parsed and validated against
it (cached per query text), Shopify's calculated query cost (requested before execution, actual
after it), and Relay connections over sorted keys.

Cost rules, as Shopify documents them: scalars and enums cost 0, an object 1, a connection 2 plus
its `first`/`last` times the cost of one node, a mutation 10. Interfaces and unions take the most
expensive of their possible selections. The actual cost counts what came back instead of what was
asked for."""

from __future__ import annotations

import base64
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    build_schema,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    parse,
    validate,
)

from colis.core.specs import spec_path

SCHEMA_FILE = "shopify-admin-graphql/schema.graphql"
# The published file leaves out the schema block (see the specs README): name the roots here.
ROOTS = "schema { query: QueryRoot mutation: Mutation }\n"
MUTATION_COST = 10
MAX_PAGE = 250  # Shopify's cap on first/last


class ApiError(GraphQLError):
    """An error Shopify itself answers with (a bad argument, a missing page size): not an
    emulator fault, so it is not counted as a contract violation."""


@lru_cache(maxsize=1)
def admin_schema() -> GraphQLSchema:
    """The Admin API schema, built once per process (about a second). Raises SpecsMissing."""
    sdl = spec_path(SCHEMA_FILE).read_text(encoding="utf-8")
    # assume_valid: graphql-core 3.3 refuses two deprecations Shopify publishes on interface
    # implementations (Customer.hasTimelineComment, DiscountAutomaticBxgy.id). Shopify serves
    # them; checking would make every validate() raise. The SDL itself is known to build.
    return build_schema(ROOTS + sdl, assume_valid=True, assume_valid_sdl=True)


@dataclass(frozen=True)
class Checked:
    """A request's document: either usable, or the errors that make it invalid."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]


@lru_cache(maxsize=512)
def document_check(query: str) -> Checked:
    """Parse and validate `query` against the Admin schema (cached: clients resend the same
    text with other variables)."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        return Checked(None, (exc,))
    errors = validate(admin_schema(), document)
    return Checked(None if errors else document, tuple(errors))


def operation_of(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation a request runs (None when the name does not pick exactly one)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        return next((op for op in operations if op.name and op.name.value == name), None)
    return operations[0] if len(operations) == 1 else None


def root_fields(operation: OperationDefinitionNode) -> list[str]:
    """The root field names an operation selects directly (what Shopify calls the operation)."""
    return [s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)]


# -- calculated query cost ----------------------------------------------------------------------


class QueryCost:
    """Shopify's cost of one operation: `requested()` before execution, `actual(data)` after."""

    def __init__(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> None:
        self.schema = admin_schema()
        self.operation = operation
        self.variables = dict(variables or {})
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def _root(self) -> GraphQLObjectType:
        if self.operation.operation == OperationType.MUTATION:
            root = self.schema.mutation_type
        else:
            root = self.schema.query_type
        assert root is not None
        return root

    def requested(self) -> int:
        if self.operation.operation == OperationType.MUTATION:
            return MUTATION_COST * len(root_fields(self.operation))
        return self._selection(self._root(), self.operation.selection_set, None)

    def actual(self, data: Mapping[str, Any] | None) -> int:
        if self.operation.operation == OperationType.MUTATION:
            return MUTATION_COST * len(root_fields(self.operation))
        if data is None:
            return 0
        return self._selection(self._root(), self.operation.selection_set, data)

    def _groups(
        self, selection_set: SelectionSetNode, condition: str | None, out: dict
    ) -> dict[str | None, dict[str, list[FieldNode]]]:
        """Fields by type condition (None: applies to every type), then by response key."""
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = _response_key(selection)
                out.setdefault(condition, {}).setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                inner = selection.type_condition.name.value if selection.type_condition else None
                self._groups(selection.selection_set, inner or condition, out)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    inner = fragment.type_condition.name.value
                    self._groups(fragment.selection_set, inner, out)
        return out

    def _selection(
        self, parent: Any, selection_set: SelectionSetNode, data: Mapping[str, Any] | None
    ) -> int:
        common: dict[str, list[FieldNode]] = {}
        extra = 0
        for condition, fields in self._groups(selection_set, None, {}).items():
            if condition is None or condition == parent.name:
                for key, nodes in fields.items():
                    common.setdefault(key, []).extend(nodes)
            else:
                # A fragment on one possible type: the dearest possibility counts.
                target = self.schema.get_type(condition) or parent
                extra = max(extra, self._fields(target, fields, data))
        return self._fields(parent, common, data) + extra

    def _fields(self, parent: Any, fields: dict[str, list[FieldNode]], data: Any) -> int:
        total = 0
        defs = getattr(parent, "fields", {})
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name.startswith("__") or name not in defs:
                continue
            if data is not None and key not in data:
                continue
            value = data.get(key) if data is not None else None
            total += self._field(defs[name].type, nodes, data is not None, value)
        return total

    def _field(
        self, type_: GraphQLOutputType, nodes: list[FieldNode], after: bool, value: Any
    ) -> int:
        named = get_named_type(type_)
        if is_leaf_type(named):
            return 0
        merged = _merge(nodes)
        size = self._size(nodes[0])
        if _is_connection(named):
            return 2 + self._connection(named, merged, size, after, value)
        unwrapped = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if isinstance(unwrapped, GraphQLList):
            if not after:
                return (size or 1) * (1 + self._selection(named, merged, None))
            return sum(1 + self._returned(named, merged, item) for item in value or [] if item)
        if not after:
            return 1 + self._selection(named, merged, None)
        return 0 if value is None else 1 + self._returned(named, merged, value)

    def _returned(self, named: Any, merged: SelectionSetNode, value: Any) -> int:
        return self._selection(_concrete(named, value, self.schema), merged, value)

    def _connection(
        self, connection: Any, merged: SelectionSetNode, size: int, after: bool, value: Any
    ) -> int:
        """What the nodes of a connection cost: `size` of them before, those returned after.
        Edges are free; `edges { node }` and `nodes` are the same objects, charged once."""
        node_type = get_named_type(connection.fields["nodes"].type)
        best = 0
        for key, nodes in self._groups(merged, None, {}).get(None, {}).items():
            name = nodes[0].name.value
            inner = _merge(nodes)
            returned = (value or {}).get(key) or [] if after else []
            if name == "edges":
                edge_fields = self._groups(inner, None, {}).get(None, {})
                node_fields = [
                    f for fs in edge_fields.values() for f in fs if f.name.value == "node"
                ]
                if not node_fields:
                    continue
                inner = _merge(node_fields)
                items = [edge.get(_response_key(node_fields[0])) for edge in returned]
            elif name == "nodes":
                items = list(returned)
            else:
                continue
            if after:
                cost = sum(1 + self._returned(node_type, inner, item) for item in items if item)
            else:
                cost = size * (1 + self._selection(node_type, inner, None))
            best = max(best, cost)
        return best

    def _size(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value not in ("first", "last"):
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                found = self.variables.get(value.name.value)
                if isinstance(found, int):
                    return found
        return 0


def _response_key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _merge(nodes: Sequence[FieldNode]) -> SelectionSetNode:
    """The sub-selections of every node asking for one response key, as one selection set."""
    return SelectionSetNode(
        selections=tuple(s for n in nodes if n.selection_set for s in n.selection_set.selections)
    )


def _is_connection(named: Any) -> bool:
    return (
        isinstance(named, GraphQLObjectType)
        and named.name.endswith("Connection")
        and {"edges", "nodes", "pageInfo"} <= set(named.fields)
    )


def _concrete(named: Any, value: Any, schema: GraphQLSchema) -> Any:
    """The object type of a returned value (by its __typename when the field is abstract)."""
    if is_abstract_type(named) and isinstance(value, Mapping) and "__typename" in value:
        return schema.get_type(value["__typename"]) or named
    return named


# -- connections ----------------------------------------------------------------------------------


def cursor_encode(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def cursor_decode(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError as exc:
        raise ApiError(f"Invalid cursor for current pagination sort: {cursor!r}") from exc


@dataclass(frozen=True)
class Window:
    """The keys of one page and what Relay's PageInfo says about the pages around it."""

    keys: list[Any]
    has_next: bool
    has_previous: bool


def window(
    keys: Sequence[Any],
    *,
    first: int | None,
    after: Any = None,
    last: int | None = None,
    before: Any = None,
    reverse: bool = False,
    match: Callable[[Any], bool] | None = None,
    lo: int = 0,
    hi: int | None = None,
) -> Window:
    """One page over `keys` (sorted ascending; `after`/`before` are keys, not cursors), reading
    only as far as the page needs, so a page costs its size rather than the list's length.
    Raises ApiError for a page size Shopify refuses."""
    if first is None and last is None:
        raise ApiError("you must provide one of first or last")
    for size in (first, last):
        if size is not None and not 0 <= size <= MAX_PAGE:
            raise ApiError(f"The page size must be between 0 and {MAX_PAGE}.")
    hi = len(keys) if hi is None else hi
    low_key, high_key = (before, after) if reverse else (after, before)
    if low_key is not None:
        lo = max(lo, bisect_right(keys, _key(low_key)))
    if high_key is not None:
        hi = min(hi, bisect_left(keys, _key(high_key)))
    forward = range(hi - 1, lo - 1, -1) if reverse else range(lo, hi)
    if first is not None:
        taken, more = _take(keys, forward, first, match)
        if last is not None and len(taken) > last:
            taken = taken[-last:]
        return Window(taken, more, after is not None)
    assert last is not None
    taken, more = _take(keys, reversed(forward), last, match)
    taken.reverse()
    return Window(taken, before is not None, more)


def _key(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _take(keys: Sequence[Any], order: Any, size: int, match: Callable | None) -> tuple[list, bool]:
    taken: list[Any] = []
    for index in order:
        key = keys[index]
        if match is not None and not match(key):
            continue
        if len(taken) == size:
            return taken, True
        taken.append(key)
    return taken, False


def connection(
    page: Window,
    node_of: Callable[[Any], Any],
    cursor_of: Callable[[Any], str],
) -> dict[str, Any]:
    """A Relay connection value for graphql-core: nodes are built only if selected, once."""
    built: dict[int, Any] = {}

    def node(i: int) -> Any:
        if i not in built:
            built[i] = node_of(page.keys[i])
        return built[i]

    cursors = [cursor_of(k) for k in page.keys]
    return {
        "edges": lambda info, **_: [
            {"cursor": cursors[i], "node": node(i)} for i in range(len(page.keys))
        ],
        "nodes": lambda info, **_: [node(i) for i in range(len(page.keys))],
        "pageInfo": {
            "hasNextPage": page.has_next,
            "hasPreviousPage": page.has_previous,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


def list_connection(items: Sequence[Any], args: Mapping[str, Any], node_of: Callable) -> dict:
    """A connection over a short list (an order's lines): cursors are positions."""
    positions = list(range(len(items)))
    after = cursor_decode(args["after"]) if args.get("after") else None
    before = cursor_decode(args["before"]) if args.get("before") else None
    page = window(
        positions,
        first=args.get("first"),
        after=after,
        last=args.get("last"),
        before=before,
        reverse=bool(args.get("reverse")),
    )
    return connection(page, lambda i: node_of(items[i]), cursor_encode)
