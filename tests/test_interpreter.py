"""Scripts, traces and the interpreter over the reference model."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.interpreter import Interpreter
from conformance.model import ModelLibrary
from conformance.properties.common import reflects
from conformance.script import Observation, Op, Script, trace_from_json, trace_to_json
from conformance.settings import SETTINGS, setting
from conformance.strategies import setting_value


def run(*ops: Op) -> list[dict[str, object]]:
    return [o.to_json() for o in Interpreter(ModelLibrary()).run(Script(ops))]


def test_dup_in_initial_state_is_a_new_object_with_the_settings() -> None:
    trace = run(
        Op("ctx_new", method="tls"),
        Op("ssl_new", ctx=0),
        Op("ssl_set", ssl=0, setting="verify-depth", value=7),
        Op("ssl_dup", ssl=0),
        Op("ssl_get", ssl=1, setting="verify-depth"),
    )
    assert trace[1] == {"object": 1}
    assert trace[3] == {"object": 2}
    assert trace[4] == {"value": 7}


def test_dup_after_handshake_is_the_same_handle_with_one_more_reference() -> None:
    trace = run(
        Op("ctx_new", method="tls-client"),
        Op("ssl_new", ctx=0),
        Op("handshake", ssl=0),
        Op("ssl_dup", ssl=0),
        Op("ssl_free", ssl=0),
        Op("ssl_free", ssl=1),
    )
    assert trace[2] == {"value": True}
    assert trace[3] == {"object": 1}
    assert trace[4] == {}
    assert trace[5] == {"freed": [1]}


def test_ssl_new_null_queues_an_error() -> None:
    assert run(Op("ssl_new")) == [{"null": True, "errors": ["SSL_new: null SSL_CTX"]}]


def test_observations_keep_zero_and_empty_lists_as_values() -> None:
    obs = Observation(object=0, value=[])
    assert obs.to_json() == {"object": 0, "value": []}
    assert Observation.from_json(obs.to_json()) == obs


@settings(max_examples=50)
@given(
    st.sampled_from([s for s in SETTINGS if s.domain is not None]).flatmap(
        lambda s: st.tuples(st.just(s.name), setting_value(s))
    )
)
def test_scripts_round_trip_through_json(named: tuple[str, object]) -> None:
    name, value = named
    script = Script(
        (
            Op("ctx_new", method="tls"),
            Op("ssl_new", ctx=0),
            Op("ssl_set", ssl=0, setting=name, value=value),
            Op("ssl_get", ssl=0, setting=name),
        )
    )
    again = Script.from_json(json.loads(script.dumps()))
    assert again == script
    trace = Interpreter(ModelLibrary()).run(script)
    assert trace_from_json(json.loads(json.dumps(trace_to_json(trace)))) == trace
    # The getter shows what the setter was given (over the model's default, for flags).
    assert reflects(setting(name), [value], trace[3].value), (name, value, trace[3].value)


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ({"ops": [{"op": "launch_missiles"}]}, "not an operation"),
        ({"ops": [{"op": "ssl_new", "x": 1}]}, "unknown fields ['x']"),
        ([], "a script is a JSON object"),
    ],
)
def test_bad_scripts_are_refused_with_a_reason(bad: object, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        Script.from_json(bad)


def test_an_allocation_sweep_stops_at_the_end_of_the_call() -> None:
    # The model's SSL_new makes a fixed number of allocations: the first point past them
    # runs (and says it was not reached); later points of the same run are not run.
    sweep = [Op("ssl_new_failing", ctx=0, value=n) for n in range(1, 41)]
    ops = [Op("ctx_new", method="tls"), *sweep, Op("ssl_new", ctx=0), sweep[-1]]
    trace = Interpreter(ModelLibrary()).run(Script(tuple(ops)))
    ran = [o for o in trace[1:41] if not o.skipped]
    made = ran[-1].value["allocations"]  # type: ignore[index]
    assert len(ran) == made + 1 and not ran[-1].value["injected"]  # type: ignore[index]
    assert all(o.value["injected"] for o in ran[:-1])  # type: ignore[index]
    assert all("past the call's end" in (o.skipped or "") for o in trace[len(ran) + 1 : 41])
    # another call in between: the next failing call runs again
    assert trace[-1].skipped is None and trace[-1].value is not None
