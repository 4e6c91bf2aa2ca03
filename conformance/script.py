"""Scripts: the little programs tests generate and backends run.

A script is plain data: a list of operations. Contexts and SSL handles are named by
position: `ctx` 0 is the first context made, `ssl` 2 the third SSL handle obtained
(from SSL_new or SSL_dup, even when SSL_dup hands back a handle already known).

Running a script yields a trace: one observation per operation. Observations name
objects by *object id* (the order in which distinct objects were first seen), so the
traces of two libraries compare whatever their pointers are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from conformance.library import Json

OpName = Literal[
    "ctx_new",  # method
    "ctx_free",  # ctx
    "ctx_set",  # ctx, setting, value
    "ctx_get",  # ctx, setting
    "ssl_new",  # ctx (None: SSL_new(NULL))
    "ssl_dup",  # ssl
    "ssl_up_ref",  # ssl
    "ssl_free",  # ssl
    "ssl_set",  # ssl, setting, value
    "ssl_get",  # ssl, setting
    "ssl_get_ctx",  # ssl
    "handshake",  # ssl: SSL_set_connect_state + SSL_do_handshake over a BIO pair
    # ssl, ctx: SSL_set_SSL_CTX(ssl, ctx); value: the ctx id it returned (None: NULL)
    "ssl_set_ctx",
    # ssl: SSL_clear; value: whether the object is in its initial state afterwards
    # (SSL_in_before), so that what SSL_dup then does is judged by the state shown
    "ssl_clear",
    # ssl: s, as a client, completes a full handshake with the harness's own server, the
    # one that issued session-a and session-b and resumes them (TLS 1.2 session ids,
    # no tickets); value: whether the session was reused (SSL_session_reused). Afterwards
    # s is not in its initial state and carries the session the handshake left it.
    "resume",
    # ssl, value {"threads": T, "per_thread": K}: T real threads at once, each calling
    # SSL_up_ref K times then SSL_free K times on the same object; value: how many
    # SSL_up_ref calls returned 1. The object keeps the references it had before.
    "ssl_threads",
    # ctx, value N: SSL_new(ctx) with the Nth allocation made inside the call failing.
    # The result (if any) is freed within the op and binds no SSL variable; value:
    # {"allocations": made during the call, "injected": whether the Nth was reached,
    # "leaked": allocations of the call still live after freeing the result}.
    "ssl_new_failing",
    "ssl_dup_failing",  # ssl, value N: the same for SSL_dup(ssl)
]

OP_NAMES: tuple[str, ...] = OpName.__args__  # type: ignore[attr-defined]
_OP_NAME_SET = frozenset(OP_NAMES)


@dataclass(frozen=True)
class Op:
    op: OpName
    ctx: int | None = None
    ssl: int | None = None
    method: str | None = None
    setting: str | None = None
    value: Json = None
    via: str | None = None  # ctx_set, ssl_set: the setter form (settings' Form) to use

    def to_json(self) -> dict[str, Json]:
        # vars, not asdict: the fields are JSON already, and asdict's deep copy is what
        # a batch of scripts would spend most of its encoding time on.
        return {k: v for k, v in vars(self).items() if v is not None or k == "op"}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Op:
        if not isinstance(data, dict) or data.get("op") not in _OP_NAME_SET:
            raise ValueError(f"not an operation: {data!r}")
        if not _OP_FIELDS.issuperset(data):
            unknown = sorted(set(data) - _OP_FIELDS)
            raise ValueError(f"operation {data['op']} has unknown fields {unknown}")
        # The fields are set as the dataclass's __init__ would, in its order, without its
        # frozen setattr per field: a worker makes some 300,000 operations a column.
        op = object.__new__(Op)
        fields = op.__dict__
        fields.update(_OP_UNSET)
        fields.update(data)
        return op

    def key(self) -> tuple[Any, ...]:
        """What tells this operation from another, the value's type included (True, 1
        and 1.0 are equal in Python and not in JSON). Unhashable when the value is a list
        or an object: a caller keeping operations by key then keys them by encoded()."""
        fields = self.__dict__
        value = fields["value"]
        key: tuple[Any, ...] = (fields["op"], fields["ctx"], fields["ssl"], fields["method"])
        return (*key, fields["setting"], type(value), value, fields["via"])

    def encoded(self) -> str:
        """to_json as JSON text. Kept per distinct operation: a column sends some 300,000,
        and most are alike."""
        key = self.key()
        try:
            return _ENCODED[key]
        except KeyError:
            if len(_ENCODED) >= _ENCODED_LIMIT:  # a soak's values are many: start again
                _ENCODED.clear()
            text = _ENCODED[key] = json.dumps(self.to_json())
            return text
        except TypeError:  # a list or object value: not kept
            return json.dumps(self.to_json())

    def __str__(self) -> str:
        args = [f"{k}={v!r}" for k, v in self.to_json().items() if k != "op"]
        return f"{self.op}({', '.join(args)})"


_OP_FIELDS = frozenset(Op.__dataclass_fields__)
_ENCODED: dict[tuple[Any, ...], str] = {}
_ENCODED_LIMIT = 100_000
_OP_UNSET: dict[str, None] = dict.fromkeys(Op.__dataclass_fields__)  # "op" first, then the rest


@dataclass(frozen=True)
class Script:
    ops: tuple[Op, ...]

    def to_json(self) -> dict[str, Json]:
        return {"ops": [op.to_json() for op in self.ops]}

    @staticmethod
    def from_json(data: Any) -> Script:
        if not isinstance(data, dict) or not isinstance(data.get("ops"), list):
            raise ValueError('a script is a JSON object {"ops": [...]}')
        return Script(tuple(Op.from_json(op) for op in data["ops"]))

    def encoded(self) -> str:
        """to_json as JSON text, each operation's from Op.encoded."""
        return '{"ops": [' + ", ".join(op.encoded() for op in self.ops) + "]}"

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)

    def __str__(self) -> str:
        return "\n".join(f"{i:2}: {op}" for i, op in enumerate(self.ops))

    def __add__(self, other: Script) -> Script:
        return Script(self.ops + other.ops)


@dataclass
class Observation:
    """What one operation did. Only the fields that apply are set."""

    object: int | None = None  # ssl_new, ssl_dup, ctx_new: the object id obtained
    null: bool = False  # the call returned NULL
    value: Json = None  # ssl_up_ref's return, a getter's value, ssl_get_ctx's ctx id
    freed: list[int] = field(default_factory=list)  # SSL object ids really freed
    errors: list[str] = field(default_factory=list)  # errors queued by the call
    absent: list[str] = field(default_factory=list)  # functions the library lacks
    unobservable: str | None = None  # why the library could not show this
    skipped: str | None = None  # not run: it would use an object already freed

    def to_json(self) -> dict[str, Json]:
        # Field by field, in their order (a test holds this to the fields): a worker
        # writes some 300,000 a column. JSON already, so no deep copy (see Op). An unset
        # field is left out (None, False, an empty list of freed, errors or absent); 0,
        # and an empty list as a value, stay.
        out: dict[str, Json] = {}
        if self.object is not None:
            out["object"] = self.object
        if self.null:
            out["null"] = True
        if self.value is not None and self.value is not False:
            out["value"] = self.value
        if self.freed:
            out["freed"] = self.freed
        if self.errors:
            out["errors"] = self.errors
        if self.absent:
            out["absent"] = self.absent
        if self.unobservable is not None:
            out["unobservable"] = self.unobservable
        if self.skipped is not None:
            out["skipped"] = self.skipped
        return out

    @staticmethod
    def from_json(data: dict[str, Any]) -> Observation:
        return Observation(**data)


Trace = list[Observation]


def trace_to_json(trace: Trace) -> list[dict[str, Json]]:
    return [o.to_json() for o in trace]


def trace_from_json(data: list[dict[str, Any]]) -> Trace:
    return [Observation.from_json(o) for o in data]
