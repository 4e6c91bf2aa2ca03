"""Settings in C, spelled from the binding table (conformance.binding).

`Spelling.assign` gives the statements that set a script value on a context or an SSL,
`Spelling.read` the statements that read a setting into named variables, as a `Read`
the generator compares (`differ`) and prints (`shown`, `args`). Code a value needs
(two callbacks of a signature, a stack of CN= names, a text of cipher names) is
collected for the top of the program (`helpers`). Every name, type, flag and call comes
from the table's entry and the family's differences; a test may hand a table of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace

from conformance import binding
from conformance.library import Json, Kind
from conformance.repro.family import CannotSpell, Family


class CannotSpellSetting(Exception):
    """The binding table gives no C for this; the message says what, in one line."""


@dataclass(frozen=True)
class Part:
    """One C value of a read: its variable, how a person names it, how it prints."""

    var: str
    label: str
    fmt: str  # printf conversion
    arg: str  # printf argument
    kind: str = "value"  # value | text (compared with strcmp) | flags
    guard: str = ""  # compared only where this C condition holds
    borrowed: bool = False  # a string the library holds, read where it lies (char *)


@dataclass(frozen=True)
class Read:
    lines: tuple[str, ...]
    parts: tuple[Part, ...]


def _c_string(text: str) -> str:
    out = []
    for byte in text.encode():
        ch = chr(byte)
        if ch in '"\\?':
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _identifier(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text).strip("_")


HEARD = """\
/* Which of two callbacks (a, b) the library called first, for which object. */
static const void *heard_for[64];
static char heard_first[64];
static int n_heard;

static void heard(const void *obj, char which)
{
    for (int i = 0; i < n_heard; i++)
        if (heard_for[i] == obj)
            return;
    if (n_heard < 64) {
        heard_for[n_heard] = obj;
        heard_first[n_heard++] = which;
    }
}

static char first_heard(const void *obj)
{
    for (int i = 0; i < n_heard; i++)
        if (heard_for[i] == obj)
            return heard_first[i];
    return 0;
}"""


@dataclass
class Spelling:
    family: Family
    entries: Mapping[str, binding.Entry] = field(default_factory=lambda: binding.BY_SETTING)
    _helpers: dict[str, str] = field(default_factory=dict)
    _includes: list[str] = field(default_factory=list)
    _declared: set[str] = field(default_factory=set)

    # -- what the generator asks ------------------------------------------------------

    def assign(self, kind: Kind, var: str, setting: str, value: Json) -> list[str]:
        entry = self._entry(setting)
        setter = entry.setter(kind)
        if setter is None:
            raise CannotSpellSetting(f"{setting} is not set by a setter")
        if isinstance(setter, binding.NoCall):
            raise CannotSpellSetting(f"{setting} on {_kind_name(kind)}: {setter.why}")
        obj = self._object(entry, kind, var)
        value_type = entry.value
        if isinstance(value_type, binding.Fixture):
            raise CannotSpellSetting(_fixtures(setting))
        if isinstance(value_type, binding.Fields):
            if not isinstance(value, dict):
                raise CannotSpellSetting(f"{setting}: expected an object, got {value!r}")
            lines = []
            for f in value_type.fields:
                if f.name in value:
                    lines += self._call_lines(f.set, kind, obj, f.value, value[f.name])
            return lines
        if isinstance(value_type, binding.Choice):
            by_value = dict(value_type.calls)
            if not isinstance(value, str) or value not in by_value:
                raise CannotSpellSetting(f"{setting}: no call for {value!r}")
            return self._call_lines(by_value[value], kind, obj, None, None)
        if isinstance(setter, binding.Either):
            setter = self._first_spelled(setter.calls, kind)
        calls = setter if isinstance(setter, tuple) else (setter,)
        if not calls or value_type is None:
            raise CannotSpellSetting(f"{setting} is set by the handshake machinery, not a call")
        lines = []
        for call in calls:
            lines += self._call_lines(call, kind, obj, value_type, value)
        return lines

    def assign_via(self, kind: Kind, var: str, setting: str, value: Json, form: str) -> list[str]:
        """The calls of the setting's other setter `form` (binding Form)."""
        entry = self._entry(setting)
        try:
            chosen = entry.form(form)
        except KeyError as exc:
            raise CannotSpellSetting(str(exc)) from None
        if isinstance(chosen.value, binding.Fixture):
            raise CannotSpellSetting(_fixtures(setting))
        setter = chosen.set
        if isinstance(setter, binding.Either):
            setter = self._first_spelled(setter.calls, kind)
        if not isinstance(setter, binding.Call | tuple):
            raise CannotSpellSetting(f"{setting} by {form}: no calls")
        calls = setter if isinstance(setter, tuple) else (setter,)
        items = value if chosen.each and isinstance(value, list) else [value]
        lines: list[str] = []
        for item in items:
            for call in calls:
                lines += self._call_lines(call, kind, var, chosen.value, item)
        return lines

    def read(
        self,
        kind: Kind,
        var: str,
        setting: str,
        names: set[str],
        fields: Collection[str] | None = None,
    ) -> Read:
        """The lines reading `setting`; of a Fields setting, the fields named in `fields`
        and those every library has (an optional field's getter may not exist to compile
        against), all of them when `fields` is None."""
        entry = self._entry(setting)
        value_type = entry.value
        lines: list[str] = []
        obj = var
        if entry.via is not None:
            via_var = self._fresh(names, f"{_identifier(_noun(entry.via.name))}_{var}")
            via_type = self.family.returns(entry.via.spelled(kind), entry.via.returns)
            lines.append(
                f"{_declared(self._type(via_type), via_var)} = {self._expr(entry.via, kind, var)};"
            )
            obj = via_var
        if isinstance(value_type, binding.Fields):
            parts = []
            flags_var = ""
            for f in value_type.fields:
                if f.optional and fields is not None and f.name not in fields:
                    continue
                name = self._fresh(names, f"{_identifier(f.name)}_{var}")
                c_type = self.family.returns(f.get.spelled(kind), f.get.returns)
                lines.append(
                    f"{_declared(self._type(c_type), name)} = {self._expr(f.get, kind, obj)};"
                )
                part = self._part(name, f.name, f.value, c_type)
                if isinstance(f.value, binding.Flags) and f.name == "flags":
                    flags_var = name
                parts.append((f, part))
            out = []
            for f, part in parts:
                if f.shown_if and flags_var:
                    # Shown only where the flag word (compared in full) says it is set.
                    guard = f"({flags_var} & {self._flag(_flags_table(value_type), f.shown_if)})"
                    part = replace(part, guard=guard)
                out.append(part)
            return Read(tuple(lines), tuple(out))
        getter = entry.getter(kind)
        if isinstance(getter, binding.NoCall):
            raise CannotSpellSetting(f"{setting} on {_kind_name(kind)}: {getter.why}")
        if isinstance(getter, binding.Observe):
            return self._observe(getter, setting, var, names)
        if isinstance(getter, tuple):
            raise CannotSpellSetting(f"{setting} is read by {len(getter)} calls, not one")
        if isinstance(value_type, binding.Fixture):
            raise CannotSpellSetting(_fixtures(setting))
        if value_type is None:
            raise CannotSpellSetting(f"{setting} has no value to read")
        name = self._fresh(names, f"{_identifier(setting)}_{var}")
        c_type = self.family.returns(getter.spelled(kind), getter.returns)
        if isinstance(value_type, binding.Callback):  # as the callbacks' own signature
            c_type = self._callback_type(value_type.type)
        outs = [a for a in getter.args if isinstance(a, binding.Out)]
        if outs:
            lines.append(f"{_declared(self._type(outs[0].c_type), name)} = NULL;")
            lines.append(f"{self._expr(getter, kind, obj, out=name)};")
            c_type = outs[0].c_type
        else:
            lines.append(
                f"{_declared(self._type(c_type), name)} = {self._expr(getter, kind, obj)};"
            )
        part = self._part(name, setting, value_type, c_type)
        if "STACK_OF(" in c_type:  # a stack, compared as the text of its names
            lines += self._text_of(part.var, name, c_type)
        return Read(tuple(lines), (part,))

    def differ(self, a: Read, b: Read) -> str:
        """The C condition that two reads of one setting show different values."""
        conditions = []
        for p, q in zip(a.parts, b.parts, strict=True):
            if p.kind == "text":
                self.include("string.h")
                cond = f"strcmp({p.var}, {q.var}) != 0"
            else:
                cond = f"{p.var} != {q.var}"
            if q.guard:
                cond = f"{q.guard} && {cond}"
            conditions.append(cond if len(a.parts) == 1 else f"({cond})")
        return " || ".join(conditions)

    def shown(self, read: Read) -> str:
        if len(read.parts) == 1:
            return f"{read.parts[0].label} {read.parts[0].fmt}"
        return "{" + ", ".join(f"{p.label} {p.fmt}" for p in read.parts) + "}"

    def args(self, read: Read) -> list[str]:
        return [p.arg for p in read.parts]

    def helpers(self) -> dict[str, str]:
        return dict(self._helpers)

    def includes(self) -> list[str]:
        return list(self._includes)

    def include(self, header: str) -> None:
        if header not in self._includes:
            self._includes.append(header)

    # -- calls ------------------------------------------------------------------------

    def _entry(self, setting: str) -> binding.Entry:
        try:
            return self.entries[setting]
        except KeyError:
            raise CannotSpellSetting(f"the binding table has no entry for {setting}") from None

    def _name(self, openssl_name: str) -> str:
        try:
            return self.family.c(openssl_name)
        except CannotSpell as exc:
            raise CannotSpellSetting(str(exc)) from None

    def _type(self, c_type: str) -> str:
        for name in ("SSL_CTX", "SSL_METHOD", "SSL"):
            if c_type.replace("const ", "").startswith(name + " "):
                return c_type.replace(name, self.family.c(name), 1)
        return c_type

    def _first_spelled(self, calls: tuple[binding.Call, ...], kind: Kind) -> binding.Call:
        for call in calls:
            if self.family.table.symbol(call.spelled(kind)) is not None:
                return call
        raise CannotSpellSetting(f"{self.family.name} has none of {[c.name for c in calls]}")

    def _object(self, entry: binding.Entry, kind: Kind, var: str) -> str:
        return var if entry.via is None else self._expr(entry.via, kind, var)

    def _expr(self, call: binding.Call, kind: Kind, obj: str, out: str | None = None) -> str:
        """`name(obj, args...)` for a call without a script value (getters, Current)."""
        return self._invoke(call, kind, obj, lambda a: self._arg(a, kind, obj, None, None, out))

    def _invoke(
        self, call: binding.Call, kind: Kind, obj: str, arg: Callable[[binding.Arg], str]
    ) -> str:
        """The call in C: `name(obj, args...)`, or `ctrl(obj, N, larg, parg)` where the
        family has only the ctrl command (binding.c_form)."""
        form = binding.c_form(call, kind, self.family.table)
        if form is None:
            raise CannotSpellSetting(f"{self.family.name} has no {call.spelled(kind)}")
        target = self._target(call, obj)
        if form.ctrl is None:
            return f"{form.function}({', '.join([target, *map(arg, call.args)])})"
        return f"{form.function}({target}, {form.ctrl}, {arg(call.larg)}, {arg(call.parg)})"

    def _target(self, call: binding.Call, obj: str) -> str:
        if call.target == "its-context":
            return f"{self._name('SSL_get_SSL_CTX')}({obj})"
        return obj

    def _call_lines(
        self,
        call: binding.Call,
        kind: Kind,
        obj: str,
        value_type: binding.Value | None,
        value: Json,
    ) -> list[str]:
        lines: list[str] = []
        converted = self._convert(value_type, value, lines) if value_type is not None else None
        spelled = self._invoke(
            call, kind, obj, lambda a: self._arg(a, kind, obj, converted, value, None)
        )
        refused = {"zero": "== 0", "nonzero": "!= 0", "negative": "< 0"}.get(call.fails)
        if refused is None:
            return [*lines, f"{spelled};"]
        what = call.what or call.spelled(kind)
        shown = json.dumps(value).replace("%", "%%")
        return [
            *lines,
            f"if ({spelled} {refused}) {{",
            f'    printf("cannot run: the library refused {_c_text(what)} {_c_text(shown)}\\n");',
            "    return 2;",
            "}",
        ]

    def _arg(
        self,
        arg: binding.Arg,
        kind: Kind,
        obj: str,
        converted: tuple[str, int] | None,
        value: Json,
        out: str | None,
    ) -> str:
        if isinstance(arg, binding.ValueArg):
            if converted is None:
                raise CannotSpellSetting("a getter takes the script value")
            return converted[0]
        if isinstance(arg, binding.Const):
            return self.family.constant(arg.c)
        if isinstance(arg, binding.Current):
            return self._expr(arg.call, kind, obj)
        if isinstance(arg, binding.Length):
            if converted is None:
                raise CannotSpellSetting("a length without a value")
            return str(converted[1])
        if isinstance(arg, binding.DataIndex):
            return self._data_index()
        if isinstance(arg, binding.Out):
            if out is None:
                raise CannotSpellSetting("an out-parameter where none is read")
            return f"&{out}"
        raise CannotSpellSetting(f"no C for the argument {arg!r}")

    def _data_index(self) -> str:
        index = self._name("SSL_get_ex_new_index")
        self._helpers["data index"] = (
            "/* The application data index the ex-data setting uses (made on first use). */\n"
            "static int data_index(void)\n{\n    static int index = -1;\n"
            f"    if (index < 0)\n        index = {index}(0, NULL, NULL, NULL, NULL);\n"
            "    return index;\n}"
        )
        return "data_index()"

    # -- values -----------------------------------------------------------------------

    def _flag(self, table: str, name: str) -> str:
        value = self.family.table.flag_value(table, name)
        c_name = binding.FLAGS[table].flag(name).c_name
        if value is None:
            raise CannotSpellSetting(f"{self.family.name} does not define {c_name}")
        return self.family.constant(c_name)

    def _convert(self, value_type: binding.Value, value: Json, lines: list[str]) -> tuple[str, int]:
        """The C expression of a script value, and its byte length where it has one."""
        if isinstance(value_type, binding.Flags):
            names = _names(value)
            return " | ".join(self._flag(value_type.table, n) for n in names) or "0", 0
        if isinstance(value_type, binding.Enum):
            return self._flag(value_type.table, str(value)), 0
        if isinstance(value_type, binding.Integer):
            return str(_integer(value)), 0
        if isinstance(value_type, binding.Pointer):
            self.include("stdint.h")
            return ("NULL" if value is None else f"(void *)(intptr_t){_integer(value)}"), 0
        if isinstance(value_type, binding.Callback):
            return self._callback(value_type.type, value), 0
        if isinstance(value_type, binding.Text):
            text = value_type.sep.join(_names(value)) if isinstance(value, list) else str(value)
            return _c_string(text), len(text.encode())
        if isinstance(value_type, binding.Bytes):
            data = self._bytes(value_type, value)
            literal = _c_string(data.decode("latin-1")) if data.isascii() else _octal(data)
            return f"(const unsigned char *){literal}", len(data)
        if isinstance(value_type, binding.Names):
            return self._names_stack(_names(value)), 0
        if isinstance(value_type, binding.NameCert):
            return self._name_cert(str(value)), 0
        raise CannotSpellSetting(f"no C for a {type(value_type).__name__} value")

    def _name_cert(self, cn: str) -> str:
        new, subject = self._name("X509_new"), self._name("X509_set_subject_name")
        name_new, add = self._name("X509_NAME_new"), self._name("X509_NAME_add_entry_by_txt")
        self._helpers["name-cert"] = (
            "/* An unsigned certificate whose subject is just CN=<cn>. */\n"
            "static X509 *cn_cert(const char *cn)\n{\n"
            f"    X509 *cert = {new}();\n"
            f"    X509_NAME *name = {name_new}();\n"
            f'    {add}(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);\n'
            f"    {subject}(cert, name);\n"
            "    return cert;\n}"
        )
        return f"cn_cert({_c_string(cn)})"

    def _bytes(self, value_type: binding.Bytes, value: Json) -> bytes:
        if value_type.encoding == "plain":
            return str(value).encode()
        names = _names(value)
        if value_type.encoding == "alpn":
            return b"".join(bytes([len(n.encode())]) + n.encode() for n in names)
        out = bytearray()
        for name in names:
            byte = self.family.table.flag_value("cert-types", name)
            if byte is None:
                raise CannotSpellSetting(f"{self.family.name} has no certificate type {name}")
            out.append(byte)
        return bytes(out)

    def _callback(self, type_name: str, value: Json) -> str:
        if value is None:
            return "NULL"
        callback = binding.CALLBACKS.get(type_name)
        if callback is None or callback.machinery:
            raise CannotSpellSetting(f"the {type_name} callback is the handshake machinery's")
        if value not in ("cb-a", "cb-b"):
            raise CannotSpellSetting(f"no callback {value!r}")
        base = _identifier(type_name)
        params = ", ".join(_declared(self._type(t), f"a{i}") for i, t in enumerate(callback.params))
        unused = " ".join(f"(void)a{i};" for i in range(len(callback.params)))
        if callback.answer == "arg0":
            body, unused = "return a0;", unused.replace("(void)a0; ", "")
        elif callback.answer is None:
            body = ""
        else:
            body = f"return {callback.answer};"
        functions = []
        for letter in ("a", "b"):
            heard = ""
            if callback.records is not None:  # which callback the library called for whom
                self._helpers["heard"] = HEARD
                heard = f"heard(a{callback.records}, '{letter}');"
            code = " ".join(p for p in (unused, heard, body) if p)
            functions.append(
                f"static {self._type(callback.returns)} {base}_cb_{letter}({params})\n"
                f"{{\n    {code}\n}}"
            )
        self._helpers[f"callbacks {type_name}"] = (
            f"/* Two {type_name} callbacks, told apart by address. */\n" + "\n\n".join(functions)
        )
        return f"{base}_cb_{str(value)[-1]}"

    def _observe(self, observe: binding.Observe, setting: str, var: str, names: set[str]) -> Read:
        """A callback seen by the first flight of a handshake: start one on `var` and
        read which of the two callbacks the library called first for it."""
        callback = binding.CALLBACKS.get(observe.shows.removeprefix("fired:"))
        if observe.mode != "start" or callback is None or callback.records is None:
            raise CannotSpellSetting(f"{setting} shows only through a handshake ({observe.mode})")
        near, far = self._fresh(names, f"near_{var}"), self._fresh(names, f"far_{var}")
        name = self._fresh(names, f"{_identifier(setting)}_{var}")
        self._helpers["heard"] = HEARD
        lines = (
            f"BIO *{near} = NULL, *{far} = NULL;",
            f"{self._name('BIO_new_bio_pair')}(&{near}, 0, &{far}, 0);",
            f"{self._name('SSL_set_bio')}({var}, {near}, {near});",
            f"{self._name('SSL_set_connect_state')}({var});",
            f"{self._name('SSL_do_handshake')}({var}); /* the ClientHello: who hears it? */",
            f"char {name} = first_heard({var});",
        )
        shown = f'{name} ? ({name} == \'a\' ? "cb-a" : "cb-b") : "none"'
        return Read(lines, (Part(name, setting, "%s", shown),))

    def _callback_type(self, type_name: str) -> str:
        callback = binding.CALLBACKS.get(type_name)
        if callback is None:
            raise CannotSpellSetting(f"no signature for the {type_name} callback")
        base = _identifier(type_name)
        params = ", ".join(self._type(t) for t in callback.params)
        self._helpers[f"callback type {type_name}"] = (
            f"typedef {self._type(callback.returns)} (*{base}_fn)({params});"
        )
        return f"{base}_fn"

    def _names_stack(self, names: list[str]) -> str:
        new, push = self._name("sk_X509_NAME_new_null"), self._name("sk_X509_NAME_push")
        name_new, add = self._name("X509_NAME_new"), self._name("X509_NAME_add_entry_by_txt")
        self.include("stdarg.h")
        self._helpers["names"] = (
            "/* A list of n names, each just CN=<name>. */\n"
            "static STACK_OF(X509_NAME) *cn_names(int n, ...)\n{\n"
            f"    STACK_OF(X509_NAME) *names = {new}();\n"
            "    va_list cns;\n    va_start(cns, n);\n"
            "    for (int i = 0; i < n; i++) {\n"
            f"        X509_NAME *name = {name_new}();\n"
            f'        {add}(name, "CN", MBSTRING_ASC,\n'
            "                   (const unsigned char *)va_arg(cns, char *), -1, -1, 0);\n"
            f"        {push}(names, name);\n    }}\n    va_end(cns);\n    return names;\n}}"
        )
        return f"cn_names({', '.join([str(len(names)), *(_c_string(n) for n in names)])})"

    # -- reads ------------------------------------------------------------------------

    def _part(self, var: str, label: str, value_type: binding.Value, c_type: str) -> Part:
        if "STACK_OF(" in c_type:
            return Part(f"{var}_text", label, '"%s"', f"{var}_text", "text")
        if "char *" in c_type:
            self.include("string.h")
            shown = f'{var} ? {var} : "(null)"'
            return Part(f'({var} ? {var} : "")', label, '"%s"', shown, "text", borrowed=True)
        if isinstance(value_type, binding.Flags | binding.Enum):
            return Part(var, label, "%#lx", f"(unsigned long){var}", "flags")
        if isinstance(value_type, binding.Integer | binding.Choice):
            return Part(var, label, "%lld", f"(long long){var}")
        return Part(var, label, "%p", f"(void *){var}")

    def _text_of(self, text_var: str, stack_var: str, c_type: str) -> list[str]:
        if "SSL_CIPHER" in c_type:
            num, value = self._name("sk_SSL_CIPHER_num"), self._name("sk_SSL_CIPHER_value")
            get_name = self._name("SSL_CIPHER_get_name")
            self.include("string.h")
            self._helpers["cipher names"] = (
                "/* The TLS 1.2 suites of a cipher list, joined with ':' (a cipher list\n"
                " * sets no TLS 1.3 suite). */\n"
                "static void cipher_names(const STACK_OF(SSL_CIPHER) *list, char *out, size_t n)\n"
                "{\n    out[0] = 0;\n"
                f"    for (int i = 0; list != NULL && i < {num}(list); i++) {{\n"
                f"        const char *name = {get_name}({value}(list, i));\n"
                '        if (strncmp(name, "TLS_", 4) != 0 && strncmp(name, "TLS13-", 6) != 0)\n'
                '            snprintf(out + strlen(out), n - strlen(out), "%s%s",\n'
                '                     *out ? ":" : "", name);\n'
                "    }\n}"
            )
            return [
                f"char {text_var}[1024];",
                f"cipher_names({stack_var}, {text_var}, sizeof {text_var});",
            ]
        if "X509_NAME" in c_type:
            num, value = self._name("sk_X509_NAME_num"), self._name("sk_X509_NAME_value")
            text = self._name("X509_NAME_get_text_by_NID")
            nid = self.family.table.constant("NID_commonName")
            self.include("string.h")
            self._helpers["name list"] = (
                "/* The CNs of a list of names, joined with ','. */\n"
                "static void cn_list(const STACK_OF(X509_NAME) *names, char *out, size_t n)\n"
                "{\n    char cn[256];\n    out[0] = 0;\n"
                f"    for (int i = 0; names != NULL && i < {num}(names); i++) {{\n"
                f"        if ({text}({value}(names, i), {nid}, cn, sizeof cn) < 0)\n"
                "            cn[0] = 0;\n"
                '        snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? "," : "", cn);\n'
                "    }\n}"
            )
            return [
                f"char {text_var}[1024];",
                f"cn_list({stack_var}, {text_var}, sizeof {text_var});",
            ]
        raise CannotSpellSetting(f"no C to show a {c_type}")

    def _fresh(self, names: set[str], base: str) -> str:
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}{n}"
        names.add(name)
        return name


def _declared(c_type: str, name: str) -> str:
    """`type name`, with the * next to the name."""
    return f"{c_type}{'' if c_type.endswith('*') else ' '}{name}"


def _flags_table(fields: binding.Fields) -> str:
    for f in fields.fields:
        if f.name == "flags" and isinstance(f.value, binding.Flags):
            return f.value.table
    raise CannotSpellSetting("a field shown by a flag, but no flags field")


def _fixtures(setting: str) -> str:
    return f"{setting}: its values are fixtures the harness makes at run time (no C for them)"


def _kind_name(kind: Kind) -> str:
    return "a context" if kind == "ctx" else "an SSL"


def _noun(call_name: str) -> str:
    """What a sub-object getter returns, by its name: {p}get0_param -> param."""
    tail = call_name.replace("{p}", "")
    for lead in ("get0_", "get1_", "get_"):
        if tail.startswith(lead):
            return tail[len(lead) :]
    return tail


def _names(value: Json) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CannotSpellSetting(f"expected a list of names, got {value!r}")
    return [str(v) for v in value]


def _integer(value: Json) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise CannotSpellSetting(f"expected an integer, got {value!r}")
    return value


def _octal(data: bytes) -> str:
    return '"' + "".join(f"\\{b:03o}" for b in data) + '"'


def _c_text(text: str) -> str:
    return _c_string(text)[1:-1]
