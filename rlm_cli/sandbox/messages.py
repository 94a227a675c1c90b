"""The messages between the host and the REPL worker: one frozen dataclass per op, and the one
place that turns them into JSON-ready dicts and back, checking every field on the way in.

Standard library only (the worker imports it).
"""


import dataclasses
import enum
import functools
import itertools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, Union


class Op(enum.StrEnum):
    """The `op` of every message. Host to worker: init, exec, set, interrupt, reply, save, load.
    Worker to host: ready, failed, call, result, stored."""

    INIT = "init"
    EXEC = "exec"
    SET = "set"
    INTERRUPT = "interrupt"
    REPLY = "reply"
    READY = "ready"
    FAILED = "failed"
    CALL = "call"
    RESULT = "result"
    SAVE = "save"
    LOAD = "load"
    STORED = "stored"


class ProtocolError(ValueError):
    """A message that breaks the protocol: unknown op, missing or mistyped field, bad sequence."""


class _Value:
    """Equality, hash and repr by field, shared: `dataclass` would generate each one per class
    with an `exec` at import, and every worker start imports this module."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def __hash__(self) -> int:
        return hash((type(self), *self.__dict__.values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.__dict__.items())
        return f"{type(self).__name__}({fields})"


@dataclass(frozen=True, eq=False, repr=False)  # see _Value
class Answer(_Value):
    """The answer so far. Only `ready is True` marks it ready."""

    content: str = ""
    ready: bool = False

    @classmethod
    def from_model(cls, raw: Mapping[str, object]) -> Self:
        """The answer dict as the model left it: content as text, any `ready` but True is False."""
        content = raw.get("content", "")
        if not isinstance(content, str):
            try:
                content = str(content)
            except Exception:  # a value whose __str__ fails still leaves an answer
                content = f"<{type(content).__name__} object>"
        return cls(content, raw.get("ready") is True)

    def as_dict(self) -> dict[str, Any]:
        """The `{"content", "ready"}` dict the engine and renderers read."""
        return {"content": self.content, "ready": self.ready}


@dataclass(frozen=True, eq=False, repr=False)  # see _Value
class PolicySpec(_Value):
    """The audit-hook rules a worker installs (absent for `--sandbox none`)."""

    writable: list[str]
    readable: list[str]
    allow_net: bool


@dataclass(frozen=True, eq=False, repr=False)  # see _Value
class Init(_Value):
    """First message to a worker: its limits, `context`, the answer and variables to restore."""

    op: ClassVar[Op] = Op.INIT
    manifest: str | None
    capture_limit: int
    memory_limit: int | None
    file_size_limit: int | None
    answer: Answer
    variables: dict[str, Any]
    max_message: int  # bytes the host accepts per message from the worker
    policy: PolicySpec | None = None


@dataclass(frozen=True, eq=False, repr=False)  # see _Value
class Exec(_Value):
    """Run one cell; `timeout` is the cell's own alarm, in seconds of its own time. `cell`
    numbers the cells a worker was sent, so a Result names the one it belongs to."""

    op: ClassVar[Op] = Op.EXEC
    code: str
    timeout: float
    cell: int


@dataclass(frozen=True, eq=False, repr=False)  # see _Value
class SetVariable(_Value):
    """Bind a JSON value in the namespace."""

    op: ClassVar[Op] = Op.SET
    name: str
    value: Any


@dataclass(frozen=True, eq=False, repr=False)  # see _Value
class Interrupt(_Value):
    """Stop the running cell as Ctrl-C would."""

    op: ClassVar[Op] = Op.INTERRUPT


@dataclass(frozen=True, eq=False, repr=False)  # see _Value
class Reply(_Value):
    """The host's answer to one Call: `value` when ok, else `error`."""

    op: ClassVar[Op] = Op.REPLY
    id: int
    ok: bool
    value: str | list[str] | None = None
    error: str | None = None

    def payload(self) -> dict[str, Any]:
        """What the contract functions read: `ok` and `value`, or `ok` and `error`."""
        return {"ok": True, "value": self.value} if self.ok else {"ok": False, "error": self.error}


@dataclass(frozen=True, eq=False, repr=False)  # see _Value
class Ready(_Value):
    """The worker started and applied its Init."""

    op: ClassVar[Op] = Op.READY


@dataclass(frozen=True, eq=False, repr=False)  # see _Value
class Failed(_Value):
    """The worker could not start; `error` says why."""

    op: ClassVar[Op] = Op.FAILED
    error: str


@dataclass(frozen=True, eq=False, repr=False)  # see _Value
class Call(_Value):
    """One sub-call from a cell; the host answers with a Reply of the same id."""

    op: ClassVar[Op] = Op.CALL
    id: int
    kind: str
    args: dict[str, Any]


@dataclass(frozen=True, eq=False, repr=False)  # see _Value
class Result(_Value):
    """What one cell did (the worker's answer to Exec)."""

    op: ClassVar[Op] = Op.RESULT
    stdout: str
    stderr: str
    stdout_chars: int
    stderr_chars: int
    value_repr: str | None
    error: str | None
    duration_s: float
    timed_out: bool
    interrupted: bool
    restored: list[str]
    variables: list[str]
    answer: Answer
    notes: list[str] = field(default_factory=list)
    cell: int = 0  # the Exec's number (0: in-process, where there is no channel)


@dataclass(frozen=True, eq=False, repr=False)  # see _Value
class Save(_Value):
    """Pickle the user variables, one by one, into the file `path` (in the worker's scratch);
    a variable whose pickle passes `max_bytes` (or the total passing `max_total`) is left out."""

    op: ClassVar[Op] = Op.SAVE
    path: str
    max_bytes: int
    max_total: int


@dataclass(frozen=True, eq=False, repr=False)  # see _Value
class Load(_Value):
    """Bind the variables a Save wrote to `path` (the worker unpickles them, never the host)."""

    op: ClassVar[Op] = Op.LOAD
    path: str


@dataclass(frozen=True, eq=False, repr=False)  # see _Value
class Stored(_Value):
    """The worker's answer to Save or Load: the names kept, and `lost` ones as "name: why"."""

    op: ClassVar[Op] = Op.STORED
    kept: list[str]
    lost: list[str]


Message = Init | Exec | SetVariable | Interrupt | Reply | Ready | Failed | Call | Result | Save | Load | Stored
TO_WORKER = frozenset({Op.INIT, Op.EXEC, Op.SET, Op.INTERRUPT, Op.REPLY, Op.SAVE, Op.LOAD})
TO_HOST = frozenset({Op.READY, Op.FAILED, Op.CALL, Op.RESULT, Op.STORED})
_CLASSES: dict[Op, type[Any]] = {
    cls.op: cls for cls in (Init, Exec, SetVariable, Interrupt, Reply, Ready, Failed, Call, Result, Save, Load, Stored)
}
_BY_NAME = {op.value: op for op in Op}
_OP_NAMES = {cls: op.value for op, cls in _CLASSES.items()}
MAX_ID = 2**53  # call ids stay exact integers in any JSON reader
_WITH_ID = frozenset({Op.CALL, Op.REPLY})
_STR = frozenset({str})


def to_dict(message: Message) -> dict[str, Any]:
    """The JSON-ready form: `{"op": ..., **fields}`."""
    return _fields(message, {"op": _OP_NAMES[type(message)]})


def _fields(value: Any, into: dict[str, Any] | None = None) -> dict[str, Any]:
    """A dataclass's fields added to `into`, nested dataclasses as dicts too (no deep copy of
    the values). The instance dict holds the fields and nothing else: no slots, no other
    attributes (`_spec` refuses classes where that could fail)."""
    fields = {} if into is None else into
    fields.update(value.__dict__)
    cls = type(value)
    for name in _NESTED[cls] if cls in _NESTED else _nested(cls):
        if dataclasses.is_dataclass(item := fields[name]):
            fields[name] = _fields(item)
    return fields


_NESTED: dict[type[Any], tuple[str, ...]] = {}


def _nested(cls: type[Any]) -> tuple[str, ...]:
    """The fields of `cls` that may hold a dataclass."""
    if cls not in _NESTED:
        _NESTED[cls] = tuple(name for name, _, _, nested, _ in _spec(cls)[1] if nested)
    return _NESTED[cls]


def from_dict(data: object, allowed: frozenset[Op]) -> Message:
    """The message `data` holds, every field checked; ProtocolError if it is not one of `allowed`."""
    if not isinstance(data, dict):
        raise ProtocolError(f"a message must be a JSON object, not {type(data).__name__}")
    op = data.get("op")
    kind = _BY_NAME.get(op) if isinstance(op, str) else None
    if kind is None or kind not in allowed:
        raise ProtocolError(f"unexpected op {_short(op)}")
    message = build(_CLASSES[kind], data, kind.value)  # Any: only Call and Reply have the `id` read next
    if kind in _WITH_ID and not 0 < message.id <= MAX_ID:
        raise ProtocolError(f"{kind.value}: call id {message.id} out of range")
    return message


def build(cls: type[Any], data: dict[str, Any], where: str) -> Any:
    """An instance of dataclass `cls` from `data`: no unknown keys, no missing ones, right types
    (ProtocolError otherwise). A message's `data` holds its `op` too (`from_dict` chose `cls` by it)."""
    table = _TABLES[cls] if cls in _TABLES else _table(cls)
    # filled as its __init__ would, at a fraction of the cost, once every field is checked and
    # present (the classes here have no __post_init__ and no slots)
    message = object.__new__(cls)
    fields = message.__dict__
    if (
        tuple(data) == table.names
        and all(map(frozenset.__contains__, table.glance, map(type, data.values())))
        and (not table.str_lists or _STR.issuperset(map(type, itertools.chain.from_iterable(map(data.__getitem__, table.str_lists)))))
    ):
        # the usual case, a message as `to_dict` writes it: every field, in order, the scalars
        # and the entries of lists of text of their exact types; only the values a checker must
        # look into (nested ones, dicts, unions of lists) get one
        fields.update(data)
        if table.tagged:
            del fields["op"]
        for name, check in table.deep:
            fields[name] = check(data[name], where, name)
    else:
        fields.update(_checked(table, {k: v for k, v in data.items() if k != "op"} if table.tagged else data, where))
    return message


def _checked(table: "_Table", data: dict[str, Any], where: str) -> dict[str, Any]:
    """`data` checked field by field, defaults added (any order of keys, any Python values)."""
    checks, required, defaults = table.checks, table.required, table.defaults
    values = {}
    for name, value in data.items():
        entry = checks.get(name)
        if entry is None:
            raise ProtocolError(f"{where}: unknown field {_short(sorted(data.keys() - checks.keys())[0])}")
        values[name] = value if type(value) in entry[0] else entry[1](value, where, name)
    if len(values) < len(checks):
        if not values.keys() >= required:
            missing = next(name for name in checks if name in required and name not in values)
            raise ProtocolError(f"{where}: missing field {missing!r}")
        for name, default in defaults:
            if name not in values:
                values[name] = default()
    return values


Check = typing.Callable[[Any, str, str], Any]  # (value, where, field name) -> the value, checked


Spec = tuple[frozenset[str], tuple[tuple[str, bool, Check, bool, frozenset[type]], ...]]
_SPECS: dict[type[Any], Spec] = {}


def _spec(cls: type[Any]) -> Spec:
    """A dataclass's field names, and for each: whether it is required, its type's checker,
    whether it may hold a nested dataclass, and the exact types that need no checker."""
    if cls not in _SPECS:
        if hasattr(cls, "__post_init__") or hasattr(cls, "__slots__"):  # see build and _fields
            raise TypeError(f"{cls.__name__}: messages are read and filled through __dict__: no __post_init__ or slots")
        hints = typing.get_type_hints(cls)
        fields = tuple(
            (f.name, f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
             _checker(hints[f.name]), _may_nest(hints[f.name]), _exact_types(hints[f.name]))
            for f in dataclasses.fields(cls)
        )
        _SPECS[cls] = (frozenset(name for name, *_ in fields), fields)
    return _SPECS[cls]


_JSON_TYPES: frozenset[type] = frozenset({str, int, float, bool, type(None), list, dict})


class _Table(typing.NamedTuple):
    """What `build` looks up for one class."""

    names: tuple[str, ...]  # the keys of its dict as `to_dict` writes them, in order (a message's `op` first)
    # per key, the types taken at a glance: a scalar's exact types, `list` for a list of text
    # (its entries are looked at in one pass), else any JSON type (its checker, in `deep`,
    # looks into the value)
    glance: tuple[frozenset[type], ...]
    str_lists: tuple[str, ...]  # the fields that are lists of text
    deep: tuple[tuple[str, Check], ...]
    checks: dict[str, tuple[frozenset[type], Check]]  # name -> (exact types, checker), in order
    required: frozenset[str]
    defaults: tuple[tuple[str, typing.Callable[[], Any]], ...]  # each optional field's default
    tagged: bool  # a message: its dict holds its `op`


_TABLES: dict[type[Any], _Table] = {}


def _table(cls: type[Any]) -> _Table:
    """The table of `cls`, made on first use."""
    if cls not in _TABLES:
        _, fields = _spec(cls)
        hints = typing.get_type_hints(cls)
        required = frozenset(name for name, is_required, *_ in fields if is_required)
        str_lists = tuple(name for name, *_ in fields if hints[name] == list[str])
        tagged = isinstance(getattr(cls, "op", None), Op)
        glance = tuple(frozenset({list}) if name in str_lists else exact or _JSON_TYPES for name, *_, exact in fields)
        _TABLES[cls] = _Table(
            names=("op",) * tagged + tuple(name for name, *_ in fields),
            glance=(_STR,) * tagged + glance,
            str_lists=str_lists,
            deep=tuple((name, check) for name, _, check, _, exact in fields if not exact and name not in str_lists),
            checks={name: (exact, check) for name, _, check, _, exact in fields},
            required=required,
            defaults=tuple((f.name, _default(f)) for f in dataclasses.fields(cls) if f.name not in required),
            tagged=tagged,
        )
    return _TABLES[cls]


def _default(spec: dataclasses.Field[Any]) -> typing.Callable[[], Any]:
    """A function making an optional field's default, as the dataclass's __init__ would."""
    if spec.default is dataclasses.MISSING:
        return typing.cast(typing.Callable[[], Any], spec.default_factory)
    return functools.partial(_same, spec.default)


def _same(value: Any) -> Any:
    return value


def _may_nest(hint: Any) -> bool:
    """Whether a field of type `hint` can hold a dataclass (directly or as a union's member)."""
    return dataclasses.is_dataclass(hint) or any(map(_may_nest, typing.get_args(hint)))


def _exact_types(hint: Any) -> frozenset[type]:
    """The JSON scalar types a value of type `hint` may have as it is (the fast path for JSON
    just decoded); empty where a checker must look inside or convert."""
    scalars = {str, bool, int, float, type(None)}
    options = typing.get_args(hint) if typing.get_origin(hint) in (Union, types.UnionType) else (hint,)
    return frozenset(options) if all(option in scalars for option in options) else frozenset()


@functools.cache
def _checker(hint: Any) -> Check:
    """A function returning `value` if it has type `hint` (JSON types, lists, str-keyed dicts,
    unions, dataclasses), else raising ProtocolError; made once per type. The place an error
    names is only formatted when there is one."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return lambda value, where, name: value
    if origin in (Union, types.UnionType):
        options = [_checker(option) for option in typing.get_args(hint)]
        optional = type(None) in typing.get_args(hint)

        def one_of(value: Any, where: str, name: str) -> Any:
            if value is None and optional:  # the usual case, without a failed check before it
                return None
            for option in options:
                try:
                    return option(value, where, name)
                except ProtocolError:
                    continue
            raise _wrong(hint, value, where, name)

        return one_of
    if hint is type(None):
        return _accepting(hint, lambda value: value is None)
    if hint is bool or hint is str:
        return _instance_of(hint)
    if hint is int:
        return _accepting(hint, lambda value: isinstance(value, int) and not isinstance(value, bool))
    if hint is float:
        number = _accepting(hint, lambda value: isinstance(value, int | float) and not isinstance(value, bool))
        return lambda value, where, name: float(number(value, where, name))
    if origin is list:
        (item,) = typing.get_args(hint)
        each, exact = _checker(item), _exact_types(item)
        listed = _instance_of(list)

        def every(value: Any, where: str, name: str) -> Any:
            if type(value) is list and (not value or all(type(entry) in exact for entry in value)):
                return value  # JSON scalars as they are: no call per entry
            return [each(entry, where, name) for entry in listed(value, where, name)]

        return every
    if origin is dict:
        return _accepting(hint, lambda value: isinstance(value, dict) and (  # the keys' types in one pass first
            _STR.issuperset(map(type, value)) or all(isinstance(key, str) for key in value)))
    if dataclasses.is_dataclass(hint):
        kind = typing.cast(type[Any], hint)

        def nested(value: Any, where: str, name: str) -> Any:
            if not isinstance(value, dict):
                raise _wrong(hint, value, where, name)
            return build(kind, value, f"{where}.{name}")

        return nested
    return lambda value, where, name: _raise(_wrong(hint, value, where, name))


def _instance_of(kind: type[Any]) -> Check:
    def check(value: Any, where: str, name: str) -> Any:
        if isinstance(value, kind):
            return value
        raise _wrong(kind, value, where, name)

    return check


def _accepting(hint: Any, test: typing.Callable[[Any], bool]) -> Check:
    def check(value: Any, where: str, name: str) -> Any:
        if test(value):
            return value
        raise _wrong(hint, value, where, name)

    return check


def _wrong(hint: Any, value: Any, where: str, name: str) -> ProtocolError:
    return ProtocolError(f"{where}.{name}: expected {_name(hint)}, got {type(value).__name__}")


def _raise(error: ProtocolError) -> typing.NoReturn:
    raise error


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint)


def _short(value: object) -> str:
    """A forged value named in an error, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
