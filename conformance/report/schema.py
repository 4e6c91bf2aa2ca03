"""The JSON Schema of the results file, generated from the dataclasses that write it.

The schema is derived from `conformance.results` by reading the dataclasses' type
hints, so it cannot drift from the code: a field added there appears here. A copy is
published as schema/results.schema.json; a test checks that the copy is current.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

from conformance import results as results_module
from conformance.library import Json
from conformance.results import FORMAT, Results

SCHEMA_ID = f"urn:sslconform:results:{FORMAT}"
PUBLISHED = Path(__file__).resolve().parents[2] / "schema" / "results.schema.json"

_JSON_REF = {"$ref": "#/$defs/json"}


def _is_json_alias(tp: Any) -> bool:
    """Json, however typing resolved it: a union of every JSON kind."""
    if tp is Json or tp == Json:
        return True
    if typing.get_origin(tp) not in (Union, types.UnionType):
        return False
    args = typing.get_args(tp)
    kinds = {a for a in args if isinstance(a, type) and typing.get_origin(a) is None}
    origins = {typing.get_origin(a) for a in args}
    return {type(None), bool, int, float, str} <= kinds and {list, dict} <= origins


def _type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if _is_json_alias(tp):
        return dict(_JSON_REF)
    if isinstance(tp, typing.ForwardRef):
        if tp.__forward_arg__ == "Json":
            return dict(_JSON_REF)
        raise TypeError(f"unresolved forward reference {tp.__forward_arg__}")
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is type(None):
        return {"type": "null"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    if tp is Any:
        return {}
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (Union, types.UnionType):
        members = [_type_schema(a, defs) for a in args]
        # Optional[T]: T or null, spelled as anyOf so enums and refs combine cleanly.
        return {"anyOf": members}
    if origin is list:
        return {"type": "array", "items": _type_schema(args[0], defs)}
    if origin is dict:
        if args and args[0] is not str:
            raise TypeError(f"JSON object keys must be strings, not {args[0]}")
        return {"type": "object", "additionalProperties": _type_schema(args[1], defs)}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        _dataclass_def(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    raise TypeError(f"no JSON Schema for type {tp!r}")


def _dataclass_def(cls: type, defs: dict[str, Any]) -> None:
    if cls.__name__ in defs:
        return
    defs[cls.__name__] = {}  # placeholder: breaks cycles
    hints = typing.get_type_hints(cls, vars(results_module))
    props: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        prop = _type_schema(hints[f.name], defs)
        comment = _field_comment(cls, f.name)
        if comment:
            prop = {"description": comment, **prop}
        props[f.name] = prop
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    defs[cls.__name__] = {
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }
    doc = (cls.__doc__ or "").strip()
    if doc and not doc.startswith(f"{cls.__name__}("):
        defs[cls.__name__] = {"description": doc.splitlines()[0], **defs[cls.__name__]}


def _field_comment(cls: type, name: str) -> str | None:
    """The `# comment` after a field in the source: the schema's description."""
    import inspect

    try:
        lines = inspect.getsource(cls).splitlines()
    except (OSError, TypeError):
        return None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(f"{name}:") and "#" in stripped:
            return stripped.split("#", 1)[1].strip()
    return None


def results_schema() -> dict[str, Any]:
    """The schema of one results file (conformance.results.Results)."""
    defs: dict[str, Any] = {
        "json": {
            "description": "any JSON value",
            "type": ["null", "boolean", "integer", "number", "string", "array", "object"],
        }
    }
    _dataclass_def(Results, defs)
    top = defs.pop(Results.__name__)
    # Readers insist on the format number: a file of another format is another schema.
    top["properties"]["format"] = {"const": FORMAT}
    top["required"] = sorted({*top["required"], "format"})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"sslconform results file, format {FORMAT}",
        **{k: v for k, v in top.items() if k != "description"},
        "$defs": dict(sorted(defs.items())),
    }


def schema_text() -> str:
    return json.dumps(results_schema(), indent=1, sort_keys=True) + "\n"


class SchemaUnavailable(RuntimeError):
    """jsonschema is not installed: results cannot be checked against the schema."""


_validator: Any = None


def validate(data: Any) -> None:
    """Raise ValueError naming the first problem in one line.

    SchemaUnavailable when jsonschema is not installed.
    """
    global _validator
    if _validator is None:
        try:
            # Imported by name: it is optional, and its type stubs may not be installed.
            jsonschema: Any = importlib.import_module("jsonschema")
        except ImportError:
            raise SchemaUnavailable(
                "jsonschema is not installed (pip install jsonschema): "
                "results files are read without schema validation"
            ) from None
        _validator = jsonschema.Draft202012Validator(results_schema())
    errors = sorted(_validator.iter_errors(data), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        err = errors[0]
        where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
        raise ValueError(
            f"does not match the results schema at {where or 'top level'}: {_short(err.message)}"
        )


def _short(message: str, limit: int = 160) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"
