"""Query cost, calculated the way Shopify documents it for the GraphQL Admin API.

Scalars and enums cost 0, objects 1, a connection 2 plus its page size times the cost of one
node, a mutation 10. The requested cost is computed from the query before running it (page
sizes from `first`/`last`); the actual cost from the data returned.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
    value_from_ast_untyped,
)

MUTATION_COST = 10
MAX_QUERY_COST = 1000


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    actual: bool

    def fields(self, selection_set: SelectionSetNode | None) -> Iterator[FieldNode]:
        """The fields of a selection set with fragments flattened (connections are concrete)."""
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self.fields(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    yield from self.fields(fragment.selection_set)

    def selection_set(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode | None, data: Any
    ) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += self.field(parent, selection, data)
                continue
            if isinstance(selection, InlineFragmentNode):
                condition, inner = selection.type_condition, selection.selection_set
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None:
                    continue
                condition, inner = fragment.type_condition, fragment.selection_set
            else:
                continue
            target = self.schema.get_type(condition.name.value) if condition else parent
            total += self.selection_set(target or parent, inner, data)
        return total

    def field(self, parent: GraphQLNamedType, node: FieldNode, data: Any) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        key = node.alias.value if node.alias else name
        if not self.actual:
            if named.name.endswith("Connection"):
                return self.connection(named, node, None)
            return 1 + self.selection_set(named, node.selection_set, None)
        if not isinstance(data, dict) or data.get(key) is None:
            return 0
        value = data[key]
        if named.name.endswith("Connection"):
            return self.connection(named, node, value)
        items = value if isinstance(value, list) else [value]
        return sum(1 + self.selection_set(named, node.selection_set, item) for item in items)

    def page_size(self, node: FieldNode) -> int:
        for argument in node.arguments:
            if argument.name.value in ("first", "last"):
                size = value_from_ast_untyped(argument.value, self.variables)
                if isinstance(size, int):
                    return size
        return 0

    def connection(self, connection: GraphQLNamedType, node: FieldNode, value: Any) -> int:
        assert isinstance(connection, GraphQLObjectType)
        item_type = get_named_type(connection.fields["nodes"].type)
        size = self.page_size(node)
        total = 2
        for child in self.fields(node.selection_set):
            key = child.alias.value if child.alias else child.name.value
            if child.name.value == "nodes":
                total += self.items(item_type, child.selection_set, size, value, key, None)
            elif child.name.value == "edges":
                for edge_field in self.fields(child.selection_set):
                    if edge_field.name.value != "node":
                        continue
                    node_key = edge_field.alias.value if edge_field.alias else "node"
                    total += self.items(
                        item_type, edge_field.selection_set, size, value, key, node_key
                    )
        return total

    def items(
        self,
        item_type: GraphQLNamedType,
        selection_set: SelectionSetNode | None,
        size: int,
        value: Any,
        key: str,
        node_key: str | None,
    ) -> int:
        """Cost of a connection's items: `size` of them when estimating, the real ones after."""
        if not self.actual:
            return size * (1 + self.selection_set(item_type, selection_set, None))
        total = 0
        for entry in (value or {}).get(key) or []:
            item = entry.get(node_key) if node_key else entry
            total += 1 + self.selection_set(item_type, selection_set, item)
        return total


def query_cost(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    data: Mapping[str, Any] | None = None,
    *,
    actual: bool = False,
) -> int:
    """Requested cost (actual=False) or actual cost of one operation."""
    if operation.operation is OperationType.MUTATION:
        roots = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
        return MUTATION_COST * max(1, len(roots))
    defaults = {
        d.variable.name.value: value_from_ast_untyped(d.default_value)
        for d in operation.variable_definitions
        if d.default_value is not None
    }
    walk = _Walk(schema, fragments, {**defaults, **(variables or {})}, actual)
    assert schema.query_type is not None
    return walk.selection_set(schema.query_type, operation.selection_set, data)
