"""Building blocks of SQL as sqlglot expression trees, in DuckDB's terms.

DuckDB's functions are built as the nodes its dialect parses them into (:func:`fn`:
``list_transform`` is ``exp.Transform``, ``list_filter`` ``exp.ArrayFilter``), dicomlake's UDFs
as ``exp.Anonymous`` calls (:func:`udf`), types as type nodes; names of the store's columns are
quoted identifiers (:func:`column`), names the SQL gives itself are not (:func:`own`). Nothing
here parses SQL text, so a tree built from these renders for DuckDB (:func:`duckdb_sql`) and,
rewritten, for Spark (:mod:`.on_spark`).
"""

from __future__ import annotations

from sqlglot import exp


def column(name: str) -> exp.Column:
    """A column of the store (its name quoted, whatever it holds)."""
    return exp.column(name, quoted=True)


def own(name: str) -> exp.Column:
    """A column (or lambda variable) the transform names itself (``dl_context``, ``it0`` …)."""
    return exp.column(name)


def dot(base: exp.Expr, name: str, quoted: bool = True) -> exp.Dot:
    """``base.name``: a field of a struct (quoted: a store's field; unquoted: a PN group or component)."""
    return exp.Dot(this=base, expression=exp.to_identifier(name, quoted=quoted))


def lit(text: str) -> exp.Literal:
    return exp.Literal.string(text)


def fn(name: str, *args: exp.Expr) -> exp.Expr:
    """A DuckDB function call as the node DuckDB's dialect makes of it (``list_transform`` → Transform)."""
    return exp.func(name, *args, dialect="duckdb")


def udf(name: str, *args: exp.Expr) -> exp.Anonymous:
    """A call of one of dicomlake's functions (:data:`.udfs.FUNCTIONS`)."""
    return exp.Anonymous(this=name, expressions=list(args))


def lambda_(var: str, body: exp.Expr) -> exp.Lambda:
    return exp.Lambda(this=body, expressions=[exp.to_identifier(var)])


def each(ref: exp.Expr, var: str, body: exp.Expr) -> exp.Expr:
    """``list_transform(ref, lambda var: body)``."""
    return fn("list_transform", ref, lambda_(var, body))


def keep_if(ref: exp.Expr, var: str, cond: exp.Expr) -> exp.Expr:
    """``list_filter(ref, lambda var: cond)``."""
    return fn("list_filter", ref, lambda_(var, cond))


#: The DuckDB types the transform writes, as sqlglot's type nodes (what DuckDB's dialect reads them as).
_TYPES = {
    "VARCHAR": exp.DataType.Type.TEXT,
    "BIGINT": exp.DataType.Type.BIGINT,
    "DOUBLE": exp.DataType.Type.DOUBLE,
    "BOOLEAN": exp.DataType.Type.BOOLEAN,
    "DATE": exp.DataType.Type.DATE,
    "TIME": exp.DataType.Type.TIME,
    "TIMESTAMP": exp.DataType.Type.TIMESTAMPNTZ,
}


def dtype(name: str) -> exp.DataType:
    """A DuckDB type (:data:`_TYPES`) as a type node."""
    return exp.DataType(this=_TYPES[name], nested=False)


def list_type(of: exp.DataType) -> exp.DataType:
    """``of[]``."""
    return exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[of], nested=True)


def struct_type(fields: list[tuple[str, str]]) -> exp.DataType:
    """``STRUCT(name type, …)``."""
    defs = [exp.ColumnDef(this=exp.to_identifier(n), kind=dtype(t)) for n, t in fields]
    return exp.DataType(this=exp.DataType.Type.STRUCT, expressions=defs, nested=True)


def typed_null(of: str | exp.DataType) -> exp.Cast:
    """``NULL::type`` (a DuckDB type name or a type node)."""
    return exp.Cast(this=exp.Null(), to=dtype(of) if isinstance(of, str) else of)


def array(*items: exp.Expr) -> exp.Array:
    return exp.Array(expressions=list(items))


def struct(fields: list[tuple[str, exp.Expr]], quoted: bool = False) -> exp.Struct:
    """``struct_pack(name := value, …)``."""
    return exp.Struct(
        expressions=[exp.PropertyEQ(this=exp.to_identifier(n, quoted=quoted), expression=v) for n, v in fields]
    )


def guard(ref: exp.Expr, new: exp.Expr) -> exp.Case:
    """``CASE WHEN ref IS NULL THEN NULL ELSE new END``: an absent element stays absent."""
    return exp.Case(ifs=[exp.If(this=exp.Is(this=ref.copy(), expression=exp.Null()), true=exp.Null())], default=new)


def empty_list(ref: exp.Expr) -> exp.Bracket:
    """``ref[1:0]``: an empty list of ``ref``'s type."""
    return exp.Bracket(this=ref, expressions=[exp.Slice(this=exp.Literal.number(1), expression=exp.Literal.number(0))])


def duckdb_sql(tree: exp.Expr) -> str:
    """The tree as DuckDB SQL, one clause per line (dicomlake's own functions in lower case)."""
    return tree.sql(dialect="duckdb", pretty=True, normalize_functions=False)
