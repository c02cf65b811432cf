"""ORM queries of a fixed shape, and inserts, compiled once per process.

The SQL Django writes for `PaymentMethod.objects.for_merchant(m).filter(id=…).first()` is the same on
every request; only its parameters change. Building the queryset and compiling it costs two to three
times what running it costs on a hot path, so a PreparedQuery lets the ORM write the SQL once, with
marker values standing for the arguments, notes where each argument lands among the parameters, and
afterwards runs that SQL with the real values and builds model instances as the ORM would (the same
columns, the same value converters). Queries stay written with the ORM, where tenancy and the
selectors' rules can be read; only their compilation is remembered.

Arguments are strings, integers or aware datetimes. A query whose SQL depends on its values (a list
of varying length, a slice) is prepared once per shape by its caller.
"""

import itertools
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.sql import InsertQuery, UpdateQuery
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)
_serial = itertools.count(1)


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    # For each SQL parameter: ("arg", index) for an argument, ("const", value) for a fixed value.
    slots: tuple[tuple[str, Any], ...]
    datetime_args: frozenset[int]
    for_update: bool
    attnames: tuple[str, ...]
    # Annotations follow the model's columns in each row; each is set on the instance by its name.
    annotations: tuple[str, ...]
    converters: tuple[tuple[int, tuple[Callable, ...], Any], ...]


class PreparedQuery(Generic[M]):
    def __init__(self, model: type[M], build: Callable[..., QuerySet[M]], kinds: tuple[type, ...]) -> None:
        """*build* takes one argument per entry of *kinds* (str, int or datetime) and answers the queryset."""
        self.model, self.build, self.kinds = model, build, kinds
        self._compiled: dict[str, _Compiled] = {}

    def fetch(self, *args: Any) -> list[M]:
        alias = router.db_for_read(self.model)
        compiled = self._compiled.get(alias) or self._compile(alias)
        connection = connections[alias]
        if compiled.for_update and connection.get_autocommit():
            # What the ORM would refuse: a row lock that ends with the statement protects nothing.
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        params = [
            (_adapt(connection, args[value]) if value in compiled.datetime_args else args[value])
            if kind == "arg"
            else value
            for kind, value in compiled.slots
        ]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return [self._instance(alias, compiled, _converted(row, compiled, connection)) for row in rows]

    def _instance(self, alias: str, compiled: _Compiled, row: tuple) -> M:
        count = len(compiled.attnames)
        instance = self.model.from_db(alias, compiled.attnames, row[:count])
        for name, value in zip(compiled.annotations, row[count:], strict=True):
            setattr(instance, name, value)
        return instance

    def first(self, *args: Any) -> M | None:
        rows = self.fetch(*args)
        return rows[0] if rows else None

    def _compile(self, alias: str) -> _Compiled:
        connection = connections[alias]
        markers = [_marker(kind) for kind in self.kinds]
        queryset = self.build(*markers)
        compiler = queryset.query.get_compiler(alias)
        sql, params = compiler.as_sql()
        adapted = [_adapt(connection, marker) if isinstance(marker, datetime) else marker for marker in markers]
        slots = []
        for param in params:
            matches = [index for index, marker in enumerate(adapted) if type(param) is type(marker) and param == marker]
            if len(matches) > 1:
                raise ValueError("two arguments of a prepared query compiled to the same parameter")
            slots.append(("arg", matches[0]) if matches else ("const", param))
        unused = set(range(len(markers))) - {value for kind, value in slots if kind == "arg"}
        if unused:
            raise ValueError(f"argument(s) {sorted(unused)} of a prepared query did not reach its SQL")
        columns = [column for column, _, _ in compiler.select]
        # The model's own columns first, then annotations (a joined column among them), as the ORM
        # selects them; anything else (select_related) is not for a prepared query.
        fields = [columns[index] for index in compiler.klass_info["select_fields"]]
        annotations = sorted(compiler.annotation_col_map.items(), key=lambda item: item[1])
        if [index for _, index in annotations] != list(range(len(fields), len(columns))):
            raise ValueError("a prepared query selects its model's columns, then its annotations, nothing else")
        converters = compiler.get_converters(columns)
        compiled = _Compiled(
            sql=sql,
            slots=tuple(slots),
            datetime_args=frozenset(i for i, kind in enumerate(self.kinds) if kind is datetime),
            for_update=bool(queryset.query.select_for_update),
            attnames=tuple(column.target.attname for column in fields),
            annotations=tuple(name for name, _ in annotations),
            converters=tuple(
                (position, tuple(found), expression) for position, (found, expression) in converters.items()
            ),
        )
        self._compiled[alias] = compiled
        return compiled


def _marker(kind: type) -> Any:
    serial = next(_serial)
    if kind is str:
        return f"\x1fprepared-{serial}\x1f"
    if kind is int:
        return -7_000_000_000 - serial
    if kind is datetime:
        return datetime(1901, 1, 1, tzinfo=UTC) + timedelta(microseconds=serial)
    raise TypeError(f"a prepared query takes str, int or datetime arguments, not {kind.__name__}")


def _adapt(connection: BaseDatabaseWrapper, value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _converted(row: tuple, compiled: _Compiled, connection: BaseDatabaseWrapper) -> tuple:
    if not compiled.converters:
        return row
    values = list(row)
    for position, functions, expression in compiled.converters:
        value = values[position]
        for function in functions:
            value = function(value, expression, connection)
        values[position] = value
    return tuple(values)


@dataclass(frozen=True, slots=True)
class _CompiledWrite:
    sql: str
    fields: tuple[Any, ...]
    returning: tuple[Any, ...]


class PreparedInsert(Generic[M]):
    """One model's INSERT, written once per process by the ORM and run with each new row's values.

    What `Model.objects.create()` does, without compiling the statement again: each field's value
    goes through `pre_save` (auto_now) and `get_db_prep_save` (JSON, datetimes) as the ORM's insert
    does, and fields the database fills in (an auto-incremented id) are read back. No signals are
    sent and `save()` is not called: for models with no receivers and no logic in `save()` beyond
    what an insert needs.
    """

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self._compiled: dict[tuple[str, bool], _CompiledWrite] = {}

    def create(self, **values: Any) -> M:
        return self.statement(**values).run()

    def statement(self, **values: Any) -> "PendingWrite[M]":
        """The INSERT for a new row, ready to run, alone or with another (`write_together`)."""
        instance = self.model(**values)
        alias = router.db_for_write(self.model, instance=instance)
        connection = connections[alias]
        auto = self.model._meta.auto_field
        key = (alias, auto is not None and getattr(instance, auto.attname) is not None)
        compiled = self._compiled.get(key) or self._compile(key, instance)
        params = [
            field.get_db_prep_save(field.pre_save(instance, True), connection=connection) for field in compiled.fields
        ]
        return PendingWrite(instance, alias, compiled, params)

    def _compile(self, key: tuple[str, bool], instance: M) -> _CompiledWrite:
        alias, meta = key[0], self.model._meta
        # As Model._save_table: every local concrete column but generated ones and an unset auto id.
        fields = [
            field
            for field in meta.local_concrete_fields
            if not field.generated and not (field is meta.auto_field and getattr(instance, field.attname) is None)
        ]
        connection = connections[alias]
        # The database's own values (an auto-incremented id) are read back when it made them.
        returning = tuple(meta.db_returning_fields) if meta.auto_field is not None and not key[1] else ()
        if returning and not connection.features.can_return_columns_from_insert and len(returning) > 1:
            raise ValueError("this database cannot return more than the new row's id")
        query = InsertQuery(self.model)
        query.insert_values(fields, [instance])
        compiler = query.get_compiler(using=alias)
        compiler.returning_fields = list(returning) if connection.features.can_return_columns_from_insert else None
        ((sql, _params),) = compiler.as_sql()
        compiled = _CompiledWrite(sql=sql, fields=tuple(fields), returning=returning)
        self._compiled[key] = compiled
        return compiled


@dataclass(slots=True)
class PendingWrite(Generic[M]):
    """One row's INSERT or UPDATE, compiled and bound, not yet sent."""

    instance: M
    alias: str
    compiled: _CompiledWrite
    params: list[Any]

    def run(self) -> M:
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            cursor.execute(self.compiled.sql, self.params)
            self._read_back(cursor, connection)
        return self.instance

    def _read_back(self, cursor: Any, connection: BaseDatabaseWrapper) -> None:
        returning = self.compiled.returning
        if returning:
            if connection.features.can_return_columns_from_insert:
                row = cursor.fetchone()
            else:
                row = (connection.ops.last_insert_id(cursor, self.instance._meta.db_table, returning[0].column),)
            for field, value in zip(returning, row, strict=True):
                setattr(self.instance, field.attname, value)
        self.instance._state.adding = False
        self.instance._state.db = self.alias


def pending_update(instance: M, update_fields: list[str]) -> PendingWrite[M]:
    """The UPDATE that `instance.save(update_fields=...)` would send (auto_now fields filled in as it
    would), not yet sent: to run with another write (`write_together`). The row must exist and be
    locked by the caller's transaction: unlike save(), nothing checks that a row was updated."""
    model = type(instance)
    alias = router.db_for_write(model, instance=instance)
    wanted = set(update_fields)
    fields = [field for field in model._meta.concrete_fields if {field.name, field.attname} & wanted]
    if len(fields) != len(wanted):
        raise ValueError(f"not fields of {model.__name__}: {sorted(wanted - {f.name for f in fields})}")
    query = model._base_manager.filter(pk=instance.pk).query.chain(UpdateQuery)
    assert isinstance(query, UpdateQuery)  # noqa: S101 - for the type checker: chain() answers the class asked
    query.add_update_fields([(field, None, field.pre_save(instance, False)) for field in fields])
    sql, params = query.get_compiler(alias).as_sql()
    return PendingWrite(instance, alias, _CompiledWrite(sql=sql, fields=tuple(fields), returning=()), list(params))


def write_together(first: PendingWrite, second: PendingWrite, *, savepoint: bool = True) -> None:
    """Both writes or neither. On PostgreSQL one statement does it, the first in a WITH clause
    (PostgreSQL runs every data-changing WITH part to completion): one round trip, and outside a
    transaction no BEGIN or COMMIT of their own. Elsewhere, or when the first row reads values back,
    the two in a transaction. Inside a transaction, in a savepoint unless savepoint=False, so that a
    failure (a unique row that already exists) can leave the transaction usable."""
    connection = connections[second.alias]
    if connection.vendor != "postgresql" or first.alias != second.alias or first.compiled.returning:
        with transaction.atomic(using=second.alias, savepoint=savepoint):
            first.run()
            second.run()
        return
    sql = f"WITH first_row AS ({first.compiled.sql}) {second.compiled.sql}"
    atomic = transaction.atomic(using=second.alias, savepoint=savepoint)
    with atomic if connection.in_atomic_block else nullcontext(), connection.cursor() as cursor:
        cursor.execute(sql, [*first.params, *second.params])
        second._read_back(cursor, connection)
    first._read_back(None, connection)


def update_many(model: type[Model], pk_type: str, columns: dict[str, str], rows: list[tuple]) -> None:
    """Set *columns* ({column: PostgreSQL type}) on many rows of *model*, each row given as
    (primary key, *values in the columns' order). One UPDATE from unnest() of the values as arrays on
    PostgreSQL, one prepared UPDATE per row elsewhere: bulk_update would build a CASE over every row
    for each column, which costs more than the work that produced the values."""
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    names = [quote(name) for name in columns]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{kind}[]" for kind in (pk_type, *columns.values()))
            cursor.execute(
                f"UPDATE {table} AS t SET {', '.join(f'{name} = v.{name}' for name in names)} "  # noqa: S608 - names from the model
                f"FROM unnest({arrays}) AS v({pk}, {', '.join(names)}) WHERE t.{pk} = v.{pk}",
                [list(values) for values in zip(*rows, strict=True)],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET {', '.join(f'{name} = %s' for name in names)} WHERE {pk} = %s",  # noqa: S608
                [(*values, key) for key, *values in rows],
            )
