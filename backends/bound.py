"""One ctypes interpreter of the binding table (conformance.binding).

Every adapter of a library with the OpenSSL C API sets, reads and checks settings
through a `Bound`: it resolves each `Call` of an entry to what the loaded library
exports (a function of the family's prototype, else the SSL_ctrl command OpenSSL's
macro expands to, else missing), converts the script's value to C arguments by the
entry's `Value`, and the C result back. What it cannot do by itself (a handshake, the
harness's certificates and sessions) it asks of the adapter's `Machinery`.

Nothing here names a setting: adding a plain setter/getter setting is one entry in
conformance.settings and one in conformance.binding. A test can hand its own tables.

A plain module (not a backend folder): the registry skips it. It imports only ctypes
and the harness's data modules, so the worker maps no libcrypto because of it.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Mapping, Sequence
from ctypes import CFUNCTYPE, c_char_p, c_int, c_long, c_void_p
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from backends.native import METHOD_FUNCTIONS, bits_to_names
from conformance import binding as b
from conformance.library import Absent, Json, Kind, Unobservable
from conformance.settings import BY_NAME as SETTINGS_BY_NAME
from conformance.settings import Setting

# --- C types as ctypes -------------------------------------------------------------------

_SCALARS: dict[str, Any] = {
    "void": None,
    "int": ctypes.c_int,
    "unsigned int": ctypes.c_uint,
    "long": ctypes.c_long,
    "unsigned long": ctypes.c_ulong,
    "size_t": ctypes.c_size_t,
    "time_t": ctypes.c_long,
    "uint8_t": ctypes.c_ubyte,
    "uint16_t": ctypes.c_uint16,
    "uint32_t": ctypes.c_uint32,
    "uint64_t": ctypes.c_uint64,
    "const char *": ctypes.c_char_p,
    "char *": ctypes.c_char_p,
}


def ctype(c_type: str) -> Any:
    """The ctypes type of a C type of the table: scalars by name, pointers (and callback
    typedefs) as void *."""
    if c_type in _SCALARS:
        return _SCALARS[c_type]
    return ctypes.c_void_p


def prototype(callback: b.CallbackType) -> Any:
    """The CFUNCTYPE of a callback signature (string results are read as pointers)."""
    returns = None if callback.returns == "void" else ctype(callback.returns)
    if returns is ctypes.c_char_p:
        returns = ctypes.c_void_p
    params = [ctype(p) for p in callback.params]
    params = [ctypes.c_void_p if p is ctypes.c_char_p else p for p in params]
    return CFUNCTYPE(returns, *params)


# --- symbols ---------------------------------------------------------------------------


class Symbols:
    """OpenSSL's names resolved, by one family's binding, to what some libraries export."""

    def __init__(self, libs: Sequence[ctypes.CDLL], family: b.Family) -> None:
        self.libs = list(libs)
        self.family = family
        # What a loaded library exports does not change: each lookup is made once (a
        # script makes dozens of calls, each of which would otherwise walk the family's
        # names and dlsym again).
        self._syms: dict[str, b.Sym | None] = {}
        self._raws: dict[tuple[str, Any, tuple[Any, ...]], Callable[..., Any]] = {}
        self._fns: dict[tuple[str, Any, tuple[Any, ...]], Callable[..., Any]] = {}
        self.resolved: PerCall = {}  # resolve's answers

    def exported(self, symbol: str) -> bool:
        return any(hasattr(lib, symbol) for lib in self.libs)

    def sym(self, name: str) -> b.Sym | None:
        """The exported function implementing OpenSSL's `name`, None when there is none."""
        try:
            return self._syms[name]
        except KeyError:
            pass
        mapped = self.family.symbol(name)
        found = None
        if mapped is not None:
            found = mapped if isinstance(mapped, b.Sym) else b.Sym(mapped)
            found = found if self.exported(found.symbol) else None
        self._syms[name] = found
        return found

    def has(self, name: str) -> bool:
        return self.sym(name) is not None

    def lacking(self, names: Sequence[str]) -> list[str]:
        return [n for n in names if not self.has(n)]

    def raw(self, symbol: str, restype: Any, argtypes: Sequence[Any]) -> Callable[..., Any]:
        key = (symbol, restype, tuple(argtypes))
        cached = self._raws.get(key)
        if cached is not None:
            return cached
        for lib in self.libs:
            if hasattr(lib, symbol):
                # A function object per prototype: two OpenSSL names may share one
                # symbol with different prototypes; never let one's argtypes leak.
                func = lib[symbol]
                func.restype = restype
                func.argtypes = key[2]
                self._raws[key] = func
                return func
        raise Absent(symbol)

    def fn(self, name: str, restype: Any, *argtypes: Any) -> Callable[..., Any]:
        """OpenSSL's function `name` as the family exports it. A `Sym` of the family
        with a prototype of its own wins over the caller's; its extra arguments are
        passed after the caller's."""
        key = (name, restype, argtypes)
        cached = self._fns.get(key)
        if cached is not None:
            return cached
        found = self.sym(name)
        if found is None:
            raise Absent(name)
        made = self._fn_of(found, restype, argtypes)
        self._fns[key] = made
        return made

    def _fn_of(self, found: b.Sym, restype: Any, argtypes: tuple[Any, ...]) -> Callable[..., Any]:
        if found.returns is not None:
            restype = ctype(found.returns)
        if found.params is not None:
            argtypes = tuple(ctype(p) for p in found.params)
        if not found.extra:
            return self.raw(found.symbol, restype, argtypes)
        extra = [a.value for a in found.extra]
        func = self.raw(found.symbol, restype, (*argtypes, *[c_void_p] * len(extra)))
        return lambda *args: func(*args, *extra)


# --- how a call is made on this library -------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    symbol: str
    returns: str
    params: tuple[str, ...]
    extra: tuple[b.Const, ...] = ()
    ctrl: int | None = None  # the command number: called as {p}ctrl(obj, ctrl, larg, parg)


# A call made directly (Bound._direct): its typed function, and its arguments after the
# object, each VALUE (the converted value) or a constant's value.
_Direct = tuple[Callable[..., Any], Callable[..., Any], tuple[Any, ...]]
VALUE = b.VALUE

# The argument types of a {p}ctrl function: parg is char * when it is bytes.
_CTRL_POINTER = (c_void_p, c_int, c_long, c_void_p)
_CTRL_BYTES = (c_void_p, c_int, c_long, c_char_p)


PerCall = dict[tuple[int, str], tuple[b.Call, Any]]  # (id(call), kind) -> (call, answer)
T = TypeVar("T")


def per_call(store: PerCall, call: b.Call, kind: Kind, make: Callable[[b.Call, Kind], T]) -> T:
    """What make(call, kind) gives, worked out once per call and kind: what a call of the
    table comes to on one library does not change, and every set and get makes a call or
    more. (A table's calls outlive the library; the call is kept beside its answer, so a
    reused id cannot mislead.)"""
    key = (id(call), kind)
    cached = store.get(key)
    if cached is None or cached[0] is not call:
        cached = store[key] = (call, make(call, kind))
    answer: T = cached[1]
    return answer


def resolve(symbols: Symbols, call: b.Call, kind: Kind) -> Resolved | None:
    """A function where the library exports one (of the family's prototype), else the
    ctrl function OpenSSL's macro of that name expands to, else None."""
    return per_call(symbols.resolved, call, kind, lambda c, k: _resolve(symbols, c, k))


def _resolve(symbols: Symbols, call: b.Call, kind: Kind) -> Resolved | None:
    name = call.spelled(kind)
    found = symbols.sym(name)
    if found is not None:
        return Resolved(
            found.symbol,
            found.returns if found.returns is not None else call.returns,
            found.params if found.params is not None else call.params,
            found.extra,
        )
    if call.ctrl is None:
        return None
    number = symbols.family.ctrl_number(call.ctrl)
    ctrl_name = symbols.family.ctrl_symbols[1 if kind == "ctx" else 0]
    ctrl = symbols.sym(ctrl_name)
    if number is None or ctrl is None:
        return None
    return Resolved(ctrl.symbol, "long", ("int", "long", "void *"), ctrl=number)


# --- what the interpreter asks of its adapter --------------------------------------------


class Machinery(Protocol):
    """Handshakes with a peer and the harness's fixtures (certificates, sessions, ...)."""

    def unavailable(self) -> str | None:
        """Why nothing that needs the machinery can be done here, or None."""
        ...

    def needs(self, observe: b.Observe, kind: Kind) -> tuple[str, ...]:
        """OpenSSL's names of what the handshake of `observe` needs."""
        ...

    def fixture_needs(self, kind: str, c_type: str, op: str) -> tuple[str, ...]: ...

    def fixture(self, kind: str, name: Json, c_type: str) -> Fixture: ...

    def fixture_name(self, kind: str, pointer: int | None) -> Json: ...

    def callback(self, type_name: str, value: Json) -> int | None:
        """The native callback "cb-a" / "cb-b" of a signature the machinery writes."""
        ...

    def harness(self, name: str) -> int | None:
        """One of the machinery's own callbacks (the peer's, the extension parser)."""
        ...

    def callback_name(self, type_name: str, pointer: int | None) -> Json: ...

    def observe(self, obj: int, observe: b.Observe) -> Json: ...

    def changed(self, obj: int) -> None: ...


@dataclass
class Fixture:
    """A fixture as C arguments: the pointer (or bytes) and its named parts (a TLSA
    record's). The machinery keeps what it made, unless the call's then_free releases
    it (a DH the library took its own reference of)."""

    value: Any
    parts: Mapping[str, Any]


class Callbacks:
    """The harness's two native callbacks of each simple signature, and what the
    recording ones heard: (type, "cb-a"/"cb-b", SSL *)."""

    def __init__(self, types: Mapping[str, b.CallbackType]) -> None:
        self.heard: list[tuple[str, str, int]] = []
        self.native: dict[str, dict[str, Any]] = {}
        for cb in types.values():
            if cb.machinery:
                continue
            self.native[cb.name] = {
                name: prototype(cb)(self._body(cb, name)) for name in ("cb-a", "cb-b")
            }

    def _body(self, cb: b.CallbackType, name: str) -> Callable[..., Any]:
        def body(*args: Any) -> Any:
            if cb.records is not None:
                self.heard.append((cb.name, name, args[cb.records] or 0))
            if cb.answer == "arg0":
                return args[0]
            return cb.answer

        return body

    def has(self, type_name: str) -> bool:
        return type_name in self.native

    def pointer(self, type_name: str, value: Json) -> int | None:
        if value is None:
            return None
        return ctypes.cast(self.native[type_name][str(value)], c_void_p).value

    def name(self, type_name: str, pointer: int | None) -> Json:
        """What a getter returned, as a script value; "other" for a pointer not ours."""
        if not pointer:
            return None
        for name, callback in self.native[type_name].items():
            if ctypes.cast(callback, c_void_p).value == pointer:
                return name
        return "other"  # the library's own default, or someone else's

    def first_heard(self, type_name: str, obj: int) -> Json:
        seen = [n for t, n, ssl in self.heard if t == type_name and ssl == obj]
        return seen[0] if seen else None


# --- flag words --------------------------------------------------------------------------


def names_to_bits(names: Json, table: b.FlagTable, masks: Mapping[str, int | None]) -> int:
    """OR of the named flags. A flag the library does not define, or defines as 0 (so
    that setting it changes nothing a getter can show), is Unobservable: the setting
    exists, only this value cannot be said, and the example is set aside."""
    if not isinstance(names, list):
        raise TypeError(f"expected a list of names, got {names!r}")
    value = 0
    lacking, nothing = [], []
    c_names = table.c_names()
    for name in names:
        mask = masks.get(str(name))
        if mask is None:
            lacking.append(c_names.get(str(name), str(name)))
        elif mask == 0:
            nothing.append(c_names[str(name)])
        else:
            value |= mask
    if lacking:
        raise Unobservable(f"the library does not define {', '.join(lacking)}")
    if nothing:
        raise Unobservable(f"the library defines {', '.join(nothing)} as 0: it sets nothing")
    return value


# --- the tables an adapter reads ----------------------------------------------------


@dataclass(frozen=True)
class Tables:
    """The settings table, the binding table and the families an adapter works from:
    the modules' own by default; a test hands its own (a setting of its own)."""

    entries: Mapping[str, b.Entry] = field(default_factory=lambda: b.BY_SETTING)
    settings: Mapping[str, Setting] = field(default_factory=lambda: SETTINGS_BY_NAME)
    families: Mapping[str, b.Family] = field(default_factory=lambda: b.FAMILIES)


TABLES = Tables()


# --- the interpreter ---------------------------------------------------------------------


class Bound:
    """Settings of one loaded library, set and read as the binding table says."""

    def __init__(
        self,
        symbols: Symbols,
        errors: Callable[[], list[str]],
        *,
        machinery: Machinery | None = None,
        start_handshake: Callable[[int], bool] | None = None,
        start_missing: Callable[[], list[str]] = list,
        data_index: int = -1,
        data_index_function: str = "CRYPTO_get_ex_new_index",
        tables: Tables = TABLES,
        callback_types: Mapping[str, b.CallbackType] = b.CALLBACKS,
    ) -> None:
        self.symbols = symbols
        self.family = symbols.family
        self.errors = errors
        self.machinery = machinery
        self.start_handshake = start_handshake
        self.start_missing = start_missing
        self.data_index = data_index
        self.data_index_function = data_index_function
        self.entries = tables.entries
        self.settings = tables.settings
        self._missing: dict[tuple[str, str, str], list[str] | NotImplementedError] = {}
        self._flag_values: dict[str, dict[str, int | None]] = {}
        # Worked out once per call and kind (per_call): its typed function (_typed), how
        # it is made directly if it can be (_direct), the C type its value goes as.
        self._typed_calls: PerCall = {}
        self._directs: PerCall = {}
        self._value_types: PerCall = {}
        self.callbacks = Callbacks(callback_types)
        self.callback_types = callback_types
        # Getters that do not show what their setter stored (see round_trip).
        self.unobservable: dict[tuple[Kind, str], str] = {}

    # --- what an operation needs ------------------------------------------------------

    def entry(self, setting: str) -> b.Entry:
        try:
            return self.entries[setting]
        except KeyError:
            raise NotImplementedError(f"the binding table has no entry for {setting!r}") from None

    def _needs_machinery(self, entry: b.Entry) -> bool:
        parts: list[Any] = [entry.set, entry.ctx_set, entry.get, entry.ctx_get]
        if isinstance(entry.value, b.Fixture):
            return True
        if isinstance(entry.value, b.Callback):
            cb = self.callback_types.get(entry.value.type)
            if cb is None or cb.machinery:
                return True
        for part in parts:
            if isinstance(part, b.Observe) and part.mode != "start":
                return True
            for call in _calls(part):
                if any(isinstance(a, b.Harness) for a in call.args):
                    return True
        return False

    def missing(self, op: str, kind: Kind, setting: str) -> list[str]:
        """OpenSSL's names of what setting or reading `setting` on a `kind` object lacks.

        NotImplementedError when the library has them all but the adapter cannot do it
        (no handshake machinery here, or none that works)."""
        # The answer depends only on what the library exports: asked once (every set and
        # get asks it first).
        key = (op, kind, setting)
        if key not in self._missing:
            try:
                self._missing[key] = self._missing_now(op, kind, setting)
            except NotImplementedError as exc:
                self._missing[key] = exc
        answer = self._missing[key]
        if isinstance(answer, NotImplementedError):
            raise NotImplementedError(*answer.args)
        return list(answer)

    def _missing_now(self, op: str, kind: Kind, setting: str) -> list[str]:
        entry = self.entry(setting)
        part: Any = entry.setter(kind) if op == "set" else entry.getter(kind)
        needs_machinery = self._needs_machinery(entry)
        if isinstance(part, b.NoCall):
            return [] if part.unobservable else [part.why]
        if part is None:
            return []  # chosen when the object is made (the method)
        lacking = self._lacking(entry, op, kind, part)
        if lacking:
            return lacking
        if needs_machinery:
            why = (
                "no handshake machinery" if self.machinery is None else self.machinery.unavailable()
            )
            if why:
                raise NotImplementedError(f"{setting}: {why}")
            lacking = self._machinery_lacking(entry, op, kind, part)
        return lacking

    def _lacking(self, entry: b.Entry, op: str, kind: Kind, part: Any) -> list[str]:
        names: list[str] = []
        calls: list[b.Call] = []
        if entry.via is not None:
            calls.append(entry.via)
        if isinstance(entry.value, b.Fields):
            # An optional field the library lacks leaves the setting there (see Field).
            calls.extend(
                f.set if op == "set" else f.get for f in entry.value.fields if not f.optional
            )
        elif isinstance(entry.value, b.Choice) and op == "set":
            calls.extend(c for _, c in entry.value.calls)
        if isinstance(part, b.Either):
            usable = [c for c in part.calls if not self._call_lacking(c, kind)]
            if not usable:
                names.extend(self._call_lacking(part.calls[0], kind))
        else:
            calls.extend(_calls(part))
        for call in calls:
            names.extend(self._call_lacking(call, kind))
        if isinstance(part, b.Observe):
            names.extend(self.symbols.lacking(part.needs))
            if part.mode == "start":
                if self.start_handshake is None:
                    names.append("a handshake (this adapter cannot start one)")
                else:
                    names.extend(self.start_missing())
        form = entry.read if op == "get" and entry.read is not None else entry.value
        value_needs = b.VALUE_NEEDS.get(f"{type(form).__name__}:{op}", ())
        if isinstance(entry.value, b.Fixture):
            value_needs = ()  # the machinery says what its fixtures need
        names.extend(self.symbols.lacking(value_needs))
        names.extend(self.symbols.lacking(entry.needs))
        if any(isinstance(a, b.DataIndex) for c in calls for a in c.args) and self.data_index < 0:
            names.append(self.data_index_function)
        return list(dict.fromkeys(names))

    def _machinery_lacking(self, entry: b.Entry, op: str, kind: Kind, part: Any) -> list[str]:
        assert self.machinery is not None
        names: list[str] = []
        if isinstance(part, b.Observe):
            names.extend(self.machinery.needs(part, kind))
        if isinstance(entry.value, b.Fixture):
            c_type = self._value_param(part, kind) or ""
            names.extend(self.machinery.fixture_needs(entry.value.kind, c_type, op))
        return list(dict.fromkeys(self.symbols.lacking(names)))

    def _call_lacking(self, call: b.Call, kind: Kind) -> list[str]:
        lacking = [] if resolve(self.symbols, call, kind) else [call.spelled(kind)]
        if call.target == "its-context" and not self.symbols.has("SSL_get_SSL_CTX"):
            lacking.append("SSL_get_SSL_CTX")
        for arg in call.args:
            if isinstance(arg, b.Current):
                lacking.extend(self._call_lacking(arg.call, kind))
        return lacking

    def _value_param(self, part: Any, kind: Kind) -> str | None:
        """The C type the value is passed as, by the call that will be made."""
        call = self._usable(part, kind)
        if call is None:
            return None
        found = resolve(self.symbols, call, kind)
        params = found.params if found and found.ctrl is None else call.params
        for arg, c_type in zip(call.args, params, strict=False):
            if isinstance(arg, b.ValueArg):
                return c_type
        return None

    def _usable(self, part: Any, kind: Kind) -> b.Call | None:
        if isinstance(part, b.Call):
            return part
        if isinstance(part, b.Either):
            for call in part.calls:
                if not self._call_lacking(call, kind):
                    return call
        if isinstance(part, tuple):
            for one in part:
                if isinstance(one, b.Call) and any(isinstance(a, b.ValueArg) for a in one.args):
                    return one
        return None

    # --- set and get ------------------------------------------------------------------

    def set(self, kind: Kind, obj: int, setting: str, value: Json) -> None:
        missing = self.missing("set", kind, setting)
        if missing:
            raise Absent(*missing)
        entry = self.entry(setting)
        part = entry.setter(kind)
        if kind == "ssl" and self.machinery is not None:
            self.machinery.changed(obj)
        if isinstance(entry.value, b.Choice):
            for choice, call in entry.value.calls:
                if choice == value:
                    self._invoke(call, kind, obj, None, value)
                    return
            raise Unobservable(f"no call sets {setting} to {value!r}")
        target = obj
        if entry.via is not None:
            target = int(self._invoke(entry.via, kind, obj, None, None) or 0)
        if isinstance(entry.value, b.Fields):
            self._set_fields(entry.value, kind, target, value)
            return
        if isinstance(part, b.Either):
            chosen = self._usable(part, kind)
            assert chosen is not None
            self._set_with(entry, (chosen,), kind, target, value)
        elif isinstance(part, b.Call):
            self._set_with(entry, (part,), kind, target, value)
        elif isinstance(part, tuple):
            self._set_with(entry, part, kind, target, value)
        else:
            raise NotImplementedError(f"{setting}: no setter on a {kind}")

    def form_missing(self, kind: Kind, setting: str, form: str) -> list[str]:
        """OpenSSL's names of what setting `setting` by its form `form` lacks."""
        chosen = self.entry(setting).form(form)
        calls = _calls(chosen.set)
        if isinstance(chosen.set, b.Either):
            usable = [c for c in chosen.set.calls if not self._call_lacking(c, kind)]
            calls = usable[:1] or list(chosen.set.calls[:1])
        names = [n for call in calls for n in self._call_lacking(call, kind)]
        needs = b.VALUE_NEEDS.get(f"{type(chosen.value).__name__}:set", ())
        names.extend(self.symbols.lacking(needs))
        return list(dict.fromkeys(names))

    def set_via(self, kind: Kind, obj: int, setting: str, value: Json, form: str) -> None:
        """Set `setting` through its other setter `form` (binding Form)."""
        missing = self.form_missing(kind, setting, form)
        if missing:
            raise Absent(*missing)
        entry = self.entry(setting)
        chosen = entry.form(form)
        if isinstance(chosen.value, b.Fixture):
            why = (
                "no handshake machinery" if self.machinery is None else self.machinery.unavailable()
            )
            if why:
                raise Unobservable(f"{setting} by {form}: {why} to make its value")
        if kind == "ssl" and self.machinery is not None:
            self.machinery.changed(obj)
        calls: Sequence[b.Call]
        if isinstance(chosen.set, b.Either):
            usable = self._usable(chosen.set, kind)
            assert usable is not None
            calls = (usable,)
        else:
            calls = _calls(chosen.set)
        items = value if chosen.each and isinstance(value, list) else [value]
        for item in items:
            self._set_with(entry, calls, kind, obj, item, chosen.value)

    def _set_with(
        self,
        entry: b.Entry,
        calls: Sequence[b.Call],
        kind: Kind,
        obj: int,
        value: Json,
        form: b.Value | None = None,
    ) -> None:
        assert entry.value is not None
        for call in calls:
            converted = self._to_c(form or entry.value, value, self._value_type(call, kind))
            self._invoke(call, kind, obj, converted, value)

    def _value_type(self, call: b.Call, kind: Kind) -> str:
        """The C type of the parameter the value goes to ("" if none)."""

        def find(call: b.Call, kind: Kind) -> str:
            params = zip(call.args, self._params(call, kind), strict=False)
            return next((t for a, t in params if isinstance(a, b.ValueArg | b.Part)), "")

        return per_call(self._value_types, call, kind, find)

    def _params(self, call: b.Call, kind: Kind) -> tuple[str, ...]:
        found = resolve(self.symbols, call, kind)
        return found.params if found is not None and found.ctrl is None else call.params

    def get(self, kind: Kind, obj: int, setting: str) -> Json:
        missing = self.missing("get", kind, setting)
        if missing:
            raise Absent(*missing)
        why = self.unobservable.get((kind, setting))
        if why:
            raise Unobservable(why)
        entry = self.entry(setting)
        part = entry.getter(kind)
        if isinstance(part, b.NoCall):
            raise Unobservable(part.why)
        if isinstance(part, b.Observe):
            return self._observe(obj, part)
        target = obj
        if entry.via is not None:
            target = int(self._invoke(entry.via, kind, obj, None, None) or 0)
        if isinstance(entry.value, b.Fields):
            return self._get_fields(entry.value, kind, target)
        assert isinstance(part, b.Call) and entry.value is not None
        raw = self._invoke(part, kind, target, None, None)
        return self._from_c(entry.read or entry.value, raw)

    def _observe(self, obj: int, observe: b.Observe) -> Json:
        if observe.mode == "start":
            assert self.start_handshake is not None
            self.callbacks.heard.clear()
            if not self.start_handshake(obj):
                raise Unobservable("the handshake that would show it did not start")
            type_name = observe.shows.removeprefix("fired:")
            return self.callbacks.first_heard(type_name, obj)
        assert self.machinery is not None
        return self.machinery.observe(obj, observe)

    def _set_fields(self, fields: b.Fields, kind: Kind, target: int, value: Json) -> None:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object of fields, got {value!r}")
        for f in fields.fields:
            if f.name in value:
                if f.optional and self._call_lacking(f.set, kind):
                    raise Unobservable(
                        f"the library lacks {f.set.spelled(kind)}, which sets the {f.name} field"
                    )
                converted = self._to_c(
                    f.value, value[f.name], f.set.params[0] if f.set.params else ""
                )
                self._invoke(f.set, kind, target, converted, value[f.name])

    def _get_fields(self, fields: b.Fields, kind: Kind, target: int) -> Json:
        # An optional field whose getter the library lacks is left out: its rules say so.
        shown = [f for f in fields.fields if not (f.optional and self._call_lacking(f.get, kind))]
        raw = {f.name: self._invoke(f.get, kind, target, None, None) for f in shown}
        flags_field = next((f for f in fields.fields if isinstance(f.value, b.Flags)), None)
        out: dict[str, Json] = {}
        for f in shown:
            if f.shown_if is not None and flags_field is not None:
                assert isinstance(flags_field.value, b.Flags)
                mask = self.family.flag_value(flags_field.value.table, f.shown_if) or 0
                if not int(raw[flags_field.name] or 0) & mask:
                    out[f.name] = None
                    continue
            out[f.name] = self._from_c(f.value, raw[f.name])
        return out

    # --- one call -----------------------------------------------------------------------

    def _invoke(self, call: b.Call, kind: Kind, obj: int, converted: Any, value: Json) -> Any:
        direct: _Direct | None = per_call(self._directs, call, kind, self._direct)
        if direct is not None and not isinstance(converted, Fixture):
            # Most calls: the object, the value and constants, a number back.
            func, func_text, shape = direct
            if isinstance(converted, bytes):
                func = func_text  # bytes go as char * whatever pointer type C declares
            result = func(obj, *[converted if a is VALUE else a for a in shape])
            if call.then_free and converted is not None:
                self.symbols.fn(call.then_free, None, c_void_p)(converted)
            if self._refused(call, result):
                self.errors()
                shown = ":".join(str(v) for v in value) if isinstance(value, list) else value
                raise Unobservable(f"the library refused {call.what} {shown!r}")
            return result
        return self._invoke_any(call, kind, obj, converted, value)

    def _direct(self, call: b.Call, kind: Kind) -> _Direct | None:
        """How `call` is made when nothing of it needs working out per call: on the object
        itself, with the value and constants other than C strings for arguments. Its typed
        function, the same with char * where the value goes (a value in bytes), and the
        arguments after the object: VALUE, or a constant's value. None for any other
        call (_invoke_any makes those)."""
        found = resolve(self.symbols, call, kind)
        if found is None or call.target != "object":
            return None
        args = (call.larg, call.parg) if found.ctrl is not None else call.args
        shape: list[Any] = []
        for a in args:
            if isinstance(a, b.ValueArg):
                shape.append(VALUE)
            elif isinstance(a, b.Const) and not isinstance(a.value, bytes):
                shape.append(a.value)
            else:
                return None
        if found.ctrl is not None:  # {p}ctrl(obj, ctrl, larg, parg)
            if shape[0] is VALUE:
                return None  # larg is `larg or 0`: left to _invoke_any
            ctrl = self.symbols.raw(found.symbol, c_long, _CTRL_POINTER)
            # parg is char * when the value it is, is bytes.
            text = _CTRL_BYTES if shape[1] is VALUE else _CTRL_POINTER
            ctrl_text = self.symbols.raw(found.symbol, c_long, text)
            return ctrl, ctrl_text, (found.ctrl, shape[0] or 0, shape[1])
        if any(isinstance(e.value, bytes) for e in found.extra):
            return None
        shape += [e.value for e in found.extra]
        func, types = self._typed(call, kind)
        text_types = [c_char_p if a is VALUE else t for a, t in zip(shape, types, strict=False)]
        func_text = self.symbols.raw(found.symbol, ctype(found.returns), [c_void_p, *text_types])
        return func, func_text, tuple(shape)

    def _invoke_any(self, call: b.Call, kind: Kind, obj: int, converted: Any, value: Json) -> Any:
        found = resolve(self.symbols, call, kind)
        if found is None:
            raise Absent(call.spelled(kind))
        target = obj
        if call.target == "its-context":
            get_ctx = self.symbols.fn("SSL_get_SSL_CTX", c_void_p, c_void_p)
            target = int(get_ctx(obj) or 0)
        out: Any = None

        def arg(a: b.Arg) -> Any:
            nonlocal out
            if isinstance(a, b.ValueArg):
                return converted.value if isinstance(converted, Fixture) else converted
            if isinstance(a, b.Part):
                assert isinstance(converted, Fixture)
                return converted.parts[a.name]
            if isinstance(a, b.Length):
                data = converted.parts.get("data") if isinstance(converted, Fixture) else None
                if data is None:
                    data = converted.value if isinstance(converted, Fixture) else converted
                return len(data)
            if isinstance(a, b.Const):
                return a.value
            if isinstance(a, b.Current):
                return self._invoke(a.call, kind, obj, None, None)
            if isinstance(a, b.DataIndex):
                return self.data_index
            if isinstance(a, b.Harness):
                assert self.machinery is not None
                return self.machinery.harness(a.callback)
            assert isinstance(a, b.Out)
            out = ctype(a.c_type)()
            return ctypes.addressof(out)

        if found.ctrl is None:
            typed = self._typed(call, kind)
            args = [arg(a) for a in call.args] + [e.value for e in found.extra]
            if any(isinstance(v, bytes) for v in args):
                # bytes go as char * whatever pointer type the C side declares
                types = [
                    c_char_p if isinstance(v, bytes) else t
                    for v, t in zip(args, typed[1], strict=False)
                ]
                func = self.symbols.raw(found.symbol, ctype(found.returns), [c_void_p, *types])
            else:
                func = typed[0]
            result = func(target, *args)
        else:
            larg, parg = arg(call.larg), arg(call.parg)
            func = self.symbols.raw(
                found.symbol,
                c_long,
                _CTRL_BYTES if isinstance(parg, bytes) else _CTRL_POINTER,
            )
            result = func(target, found.ctrl, larg or 0, parg)
        if call.then_free and converted is not None:
            pointer = converted.value if isinstance(converted, Fixture) else converted
            self.symbols.fn(call.then_free, None, c_void_p)(pointer)
        if self._refused(call, result):
            self.errors()
            shown = ":".join(str(v) for v in value) if isinstance(value, list) else value
            raise Unobservable(f"the library refused {call.what} {shown!r}")
        if out is not None:
            return out.value
        return result

    def _typed(self, call: b.Call, kind: Kind) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        """The function of a resolved call typed by its parameters, and those types."""

        def make(call: b.Call, kind: Kind) -> tuple[Callable[..., Any], tuple[Any, ...]]:
            found = resolve(self.symbols, call, kind)
            assert found is not None  # asked only of calls the library has
            types = [ctype(t) for t in found.params] + [c_void_p] * len(found.extra)
            types = types[: len(call.args) + len(found.extra)]  # as many as the arguments
            func = self.symbols.raw(found.symbol, ctype(found.returns), [c_void_p, *types])
            return func, tuple(types)

        typed: tuple[Callable[..., Any], tuple[Any, ...]] = per_call(
            self._typed_calls, call, kind, make
        )
        return typed

    @staticmethod
    def _refused(call: b.Call, result: Any) -> bool:
        if call.fails == "zero":
            return not result
        if call.fails == "nonzero":
            return bool(result)
        if call.fails == "negative":
            return int(result or 0) <= 0
        return False

    # --- values -----------------------------------------------------------------------

    def _masks(self, table: str) -> dict[str, int | None]:
        # The family's values do not change: worked out once per table.
        masks = self._flag_values.get(table)
        if masks is None:
            masks = self._flag_values[table] = self.family.flag_values(table)
        return masks

    def _to_c(self, kind: b.Value, value: Json, c_type: str) -> Any:
        if isinstance(kind, b.Flags):
            return names_to_bits(value, b.FLAGS[kind.table], self._masks(kind.table))
        if isinstance(kind, b.Enum):
            number = self._masks(kind.table).get(str(value))
            if number is None:
                raise Unobservable(f"the library does not define {value!r}")
            return number
        if isinstance(kind, b.Integer | b.Pointer):
            return None if value is None else int(value)
        if isinstance(kind, b.Callback):
            if self.callbacks.has(kind.type):
                return self.callbacks.pointer(kind.type, value)
            assert self.machinery is not None
            return self.machinery.callback(kind.type, value)
        if isinstance(kind, b.Text):
            text = kind.sep.join(str(v) for v in value) if isinstance(value, list) else str(value)
            return text.encode()
        if isinstance(kind, b.Bytes):
            return _encode(kind, value, self.family)
        if isinstance(kind, b.Names):
            return self._name_stack(value)
        if isinstance(kind, b.Fixture):
            assert self.machinery is not None
            return self.machinery.fixture(kind.kind, value, c_type)
        if isinstance(kind, b.NameCert):
            return self._name_cert(str(value))
        raise NotImplementedError(f"no C form of a {type(kind).__name__} value")

    def _add_name_entry(self) -> Callable[..., Any]:
        return self.symbols.fn(
            "X509_NAME_add_entry_by_txt",
            c_int,
            c_void_p,
            c_char_p,
            c_int,
            c_char_p,
            c_int,
            c_int,
            c_int,
        )

    def _name_cert(self, cn: str) -> int:
        """An X509 of subject CN=<cn> (its caller's call frees it: then_free)."""
        cert = self.symbols.fn("X509_new", c_void_p)()
        name = self.symbols.fn("X509_NAME_new", c_void_p)()
        add = self._add_name_entry()
        add(name, b"CN", self.family.constant("MBSTRING_ASC"), cn.encode(), -1, -1, 0)
        self.symbols.fn("X509_set_subject_name", c_int, c_void_p, c_void_p)(cert, name)
        self.symbols.fn("X509_NAME_free", None, c_void_p)(name)  # set_ copies it
        return int(cert)

    def _from_c(self, kind: b.Value, raw: Any) -> Json:
        if isinstance(kind, b.Flags):
            table = b.FLAGS[kind.table]
            return bits_to_names(int(raw or 0), self._masks(kind.table), table.hidden)
        if isinstance(kind, b.Enum):
            number = int(raw or 0)
            for name, known in self._masks(kind.table).items():
                if known == number:
                    return name
            return f"{number:#x}"
        if isinstance(kind, b.Integer):
            return int(raw or 0)
        if isinstance(kind, b.Pointer):
            return int(raw) if raw else None
        if isinstance(kind, b.Callback):
            if self.callbacks.has(kind.type):
                return self.callbacks.name(kind.type, raw)
            assert self.machinery is not None
            return self.machinery.callback_name(kind.type, raw)
        if isinstance(kind, b.Text):
            return bytes(raw).decode(errors="replace") if raw else None
        if isinstance(kind, b.Names):
            return self._names(raw)
        if isinstance(kind, b.Ciphers):
            get_name = self.symbols.fn("SSL_CIPHER_get_name", c_char_p, c_void_p)
            names = [bytes(get_name(c)).decode() for c in self.stack(raw, "SSL_CIPHER")]
            return [n for n in names if not n.startswith(kind.skip)]
        if isinstance(kind, b.Choice):
            others = [v for v, _ in kind.calls if v != kind.true]
            return kind.true if raw else others[0]
        if isinstance(kind, b.Method):
            return self._method(raw)
        if isinstance(kind, b.Fixture):
            assert self.machinery is not None
            return self.machinery.fixture_name(kind.kind, raw)
        raise NotImplementedError(f"no script form of a {type(kind).__name__} value")

    def _method(self, current: int | None) -> Json:
        for name, function in METHOD_FUNCTIONS.items():
            if self.symbols.has(function) and self.symbols.fn(function, c_void_p)() == current:
                return name
        return "other"

    def stack(self, stack: int | None, of: str) -> list[int]:
        """The elements of a STACK_OF(`of`)."""
        if not stack:
            return []
        num = self.symbols.fn(f"sk_{of}_num", c_int, c_void_p)
        value = self.symbols.fn(f"sk_{of}_value", c_void_p, c_void_p, c_int)
        return [value(stack, i) for i in range(num(stack))]

    def _name_stack(self, names: Json) -> int:
        stack = self.symbols.fn("sk_X509_NAME_new_null", c_void_p)()
        push = self.symbols.fn("sk_X509_NAME_push", c_int, c_void_p, c_void_p)
        new_name = self.symbols.fn("X509_NAME_new", c_void_p)
        add = self._add_name_entry()
        ordered = list(names or [])
        if self.family.stack_push_prepends:
            # Pushing in reverse gives element i the i-th name, which is what a list means.
            ordered.reverse()
        for cn in ordered:
            name = new_name()
            add(name, b"CN", self.family.constant("MBSTRING_ASC"), str(cn).encode(), -1, -1, 0)
            push(stack, name)
        return int(stack)

    def _names(self, stack: int | None) -> Json:
        text = self.symbols.fn("X509_NAME_get_text_by_NID", c_int, c_void_p, c_int, c_char_p, c_int)
        nid = self.family.constant("NID_commonName")
        out: list[Json] = []
        for name in self.stack(stack, "X509_NAME"):
            buf = ctypes.create_string_buffer(256)
            text(name, nid, buf, 256)
            out.append(buf.value.decode(errors="replace"))
        return out

    # --- the load-time round trip ---------------------------------------------------

    def round_trip(
        self, ctx: int, new_ssl: Callable[[], int | None], free_ssl: Callable[[int], None]
    ) -> dict[tuple[Kind, str], str]:
        """The settings whose getter does not show what its setter just stored, and why.

        Each entry with a `probe` value is set once on a throwaway object and read back
        at once. A getter that does not show it is Unobservable for that kind of object
        (a stub returning 0, a setter that does nothing), whatever the version says.
        """
        self.unobservable = {}
        found: dict[tuple[Kind, str], str] = {}
        kinds: tuple[Kind, ...] = ("ctx", "ssl")
        for kind in kinds:
            for entry in self.entries.values():
                if entry.probe is None or entry.setting not in self.settings:
                    continue
                setting = self.settings[entry.setting]
                if kind == "ctx" and not setting.on_ctx:
                    continue
                try:
                    if self.missing("set", kind, entry.setting) or self.missing(
                        "get", kind, entry.setting
                    ):
                        continue
                except NotImplementedError:
                    continue
                obj = ctx if kind == "ctx" else new_ssl()
                if not obj:
                    continue
                value = entry.probe
                try:
                    self.set(kind, obj, entry.setting, value)
                    shown = self.get(kind, obj, entry.setting)
                except (Absent, Unobservable) as err:
                    shown = f"an error: {err}"
                if setting.combine == "or" and isinstance(shown, list) and isinstance(value, list):
                    ok = all(v in shown for v in value)
                else:
                    ok = shown == value
                if not ok:
                    found[(kind, entry.setting)] = (
                        f"the getter showed {shown!r} right after setting {value!r} on the same "
                        f"{'context' if kind == 'ctx' else 'object'}"
                    )
                if kind == "ssl":
                    free_ssl(obj)
        self.unobservable = found
        return found


def _calls(part: Any) -> list[b.Call]:
    if isinstance(part, b.Call):
        return [part]
    if isinstance(part, tuple):
        return list(part)
    if isinstance(part, b.Either):
        return list(part.calls)
    return []


def _encode(kind: b.Bytes, value: Json, family: b.Family) -> bytes:
    if kind.encoding == "alpn":  # the wire format, named after ALPN
        return b"".join(bytes([len(str(n))]) + str(n).encode() for n in value)
    if kind.encoding == "cert-types":
        codes = family.flag_values("cert-types")
        lacking = [str(v) for v in value if codes.get(str(v)) is None]
        if lacking:
            raise Unobservable(f"the library does not define {', '.join(lacking)}")
        return bytes(int(codes[str(v)] or 0) for v in value)
    return str(value).encode()
