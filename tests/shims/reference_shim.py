#!/usr/bin/env python3
"""A worker of its own: the protocol of conformance/PROTOCOL.md over the reference model.

Written against the protocol document, not conformance.worker: it reads one JSON request
per line from stdin and writes one JSON answer per line to stdout, and runs each script
on the reference model (backends.reference) through the harness's interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from conformance.breaks import BreakingLibrary
from conformance.interpreter import Interpreter
from conformance.library import Library
from conformance.model import load
from conformance.script import Op, Script, trace_to_json


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lib")
    parser.add_argument("--option", action="append", default=[])  # the model needs none
    args = parser.parse_args()
    base = load(args.lib, {})
    library: Library = base
    interpreter = Interpreter(library)
    for line in sys.stdin:
        request = json.loads(line)
        cmd = request.get("cmd")
        if cmd == "hello":
            answer: dict[str, object] = {
                "protocol": 2,
                "version": library.version(),
                "mapped": [],
                "pid": os.getpid(),
            }
        elif cmd == "missing":
            answer = {"missing": {f: library.missing(f) for f in request["features"]}}
        elif cmd == "run":
            trace = interpreter.run(Script.from_json(request["script"]))
            answer = {"trace": trace_to_json(trace)}
        elif cmd == "batch":
            answer = {
                "outcomes": [
                    {"trace": trace_to_json(interpreter.run(Script.from_json(script)))}
                    for script in request["scripts"]
                ]
            }
        elif cmd == "break":  # the rule's promise broken at the library's boundary
            rule_id = request["rule"]
            library = base if rule_id is None else BreakingLibrary(base, rule_id)
            interpreter = Interpreter(library)
            answer = {}
        elif cmd == "reset":
            interpreter.reset()
            answer = {}
        elif cmd == "step":
            answer = {"obs": interpreter.step(Op.from_json(request["op"])).to_json()}
        else:
            answer = {"error": f"unknown command {cmd!r}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
