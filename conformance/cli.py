"""sslconform's command line: rules, run, replay, and the commands other modules add."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import shlex
import shutil
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path

from conformance.library import Library, Unavailable
from conformance.registry import Backend, NoBackends, all_backends, backend, load_adapter
from conformance.repro import reproduce
from conformance.results import CatalogueEntry, LibraryInfo, Results, RuleResult
from conformance.rules import RULES, Rule, rule
from conformance.script import Script
from conformance.worker import InProcess, Launch, Runner, Worker, settle_heap

# Modules that add subcommands of their own, through register(subparsers).
EXTENSIONS: tuple[str, ...] = (
    "conformance.bench",
    "conformance.report.cli",
    "conformance.fetch",
    "conformance.gate",
    "conformance.provision.awslc",
)
# Subcommands other packages provide (a backend's build step): entry points whose name
# is the command, imported only when that command (or --help) is asked for, so that
# `sslconform report` imports no backend.
COMMANDS_GROUP = "sslconform.commands"
# The backend whose library is the page itself: replay compares with its observations.
REFERENCE = "reference"


class UserError(Exception):
    """Bad input: printed as one line, exit status 2."""


def open_runner(entry: Backend, lib_dir: str | None, timeout: float = 10.0) -> Runner:
    """A runner for the backend: in-process for the model, a worker for native code."""
    if entry.in_process:
        library: Library = load_adapter(entry).load(lib_dir, dict(entry.options))
        return InProcess(entry.name, library)
    launch = Launch(entry.adapter, lib_dir=lib_dir, options=dict(entry.options), timeout=timeout)
    if lib_dir is None and entry.fetch:
        from conformance.fetch import fetch  # only columns that fetch need the archive

        fetched = fetch(entry.fetch)
        launch.lib_dir = str(fetched.lib_dir)
        launch.prefix = list(fetched.loader or [])
        launch.env = dict(getattr(fetched, "env", {}) or {})
        launch.package = f"{fetched.package} {fetched.version}"
    from conformance import fixtures  # made here: a worker must not import cryptography

    launch.env[fixtures.ENV] = str(fixtures.ensure())
    return Worker(entry.name, launch)


def _lib_dir(args: argparse.Namespace) -> str | None:
    lib = args.lib or os.environ.get("SSLCONFORM_LIB") or None
    if lib and not Path(lib).is_dir():
        raise UserError(f"--lib {lib}: not a directory")
    return lib


def cmd_rules(args: argparse.Namespace) -> int:
    from conformance.spec import coverage

    if args.json:
        print(json.dumps([{**vars(r), "needs": list(r.needs)} for r in RULES], indent=1))
        return 0
    for r in RULES:
        mark = "" if r.testable else "  (not testable: " + str(r.reason) + ")"
        since = f"  [only from OpenSSL {r.since}]" if r.since else ""
        print(f"{r.id:40} {r.group:20}{since}{mark}")
        quote = r.quotes.get("1.1.1k") or r.quotes.get("3.0.0")
        print(f'    "{quote}"  ({", ".join(sorted(r.quotes))})')
        print(f"    observed: {r.how}")
    testable = sum(r.testable for r in RULES)
    print(f"\n{len(RULES)} rules: {testable} testable, {len(RULES) - testable} not testable")
    cov = coverage()
    if cov is None:
        print("page coverage: not checked (spec files not found; set SSLCONFORM_SPEC)")
    for c in cov or []:
        print(
            f"page {c.page}: {c.percent:.1f}% of DESCRIPTION and RETURN VALUES quoted by a rule"
            + (f"; not quoted: {c.uncovered}" if c.uncovered else "")
        )
    return 0


def _select(patterns: Sequence[str] | None) -> list[str]:
    from fnmatch import fnmatch

    ids = [r.id for r in RULES if r.testable]
    if not patterns:
        return ids
    chosen = [i for i in ids if any(fnmatch(i, p) for p in patterns)]
    if not chosen:
        raise UserError(f"no testable rule matches {' '.join(patterns)}")
    return chosen


def catalogue_entry(r: Rule) -> CatalogueEntry:
    """A rule as the results file carries it, so that a report needs no catalogue."""
    return CatalogueEntry(
        id=r.id,
        group=r.group,
        quotes=dict(r.quotes),
        how=r.how,
        since=r.since,
        testable=r.testable,
        reason=r.reason,
    )


def run_catalogue(ids: Sequence[str]) -> list[CatalogueEntry]:
    """The entries of the rules a run is held to, and the sentences no test can observe."""
    chosen = set(ids)
    return [catalogue_entry(r) for r in RULES if r.id in chosen or not r.testable]


def cmd_run(args: argparse.Namespace) -> int:
    # Here, not above: the engine and its properties are for running, never for `report`.
    from conformance import lanes
    from conformance.adapter_fault import AdapterFault
    from conformance.engine import PROFILES, Engine, LibraryVersion

    entry = _backend(args.backend)
    lib_dir = _lib_dir(args)
    ids = _select(args.rules)
    if args.profile not in PROFILES:
        raise UserError(f"--profile: one of {', '.join(PROFILES)}")
    budget = _duration(args.budget) if args.budget else None
    out = Path(args.results)
    command = shlex.join(["sslconform", *sys.argv[1:]]) if sys.argv[1:] else None
    results = Results(
        backend=entry.name,
        library=None,
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        command=command,
        seed=args.seed,
        profile=args.profile,
        catalogue=run_catalogue(ids),
    )
    runners: list[Runner] = []
    try:
        runner = open_runner(entry, lib_dir, args.timeout)
        runners.append(runner)
        hello = runner.hello()
    except Unavailable as exc:
        for each in runners:
            each.close()
        results.state, results.reason = "unavailable", str(exc)
        results.write(out)
        print(f"{entry.name}: unavailable: {exc}", file=sys.stderr)
        return 2 if lib_dir else 0
    version = LibraryVersion(str(hello["version"]))
    mapped = hello.get("mapped") or []
    results.library = LibraryInfo(
        entry.family, version.text, version.page(), ", ".join(mapped) or lib_dir
    )
    if isinstance(runner, Worker) and runner.launch.prefix:
        results.library.loader = list(runner.launch.prefix)  # reproducers need it too
    if isinstance(runner, Worker):
        results.library.package = runner.launch.package  # BoringSSL says no number
    results.write(out)
    progress = _ProgressLine(budget) if budget and sys.stderr.isatty() else None
    engine = Engine(runner, args.profile, args.seed, progress=progress)
    engine.selected = frozenset(ids)
    # Both cores: a second worker over the same library, in a lane process of its own
    # (lanes.py), made there.
    launch = runner.launch if isinstance(runner, Worker) and args.workers > 1 else None

    def share(lane_count: int) -> float | None:
        """A soak's budget per rule, shared among the rules the lanes run at once."""
        return budget * lane_count / max(1, len(ids)) if budget else None

    engine.seconds = share(2 if launch is not None else 1)

    def lane_engine() -> Engine:
        assert launch is not None
        lane = Engine(Worker(entry.name, launch), args.profile, args.seed, seconds=share(2))
        lane.selected = engine.selected
        return lane

    def one_lane(why: str) -> None:
        # The lane's worker could not start: this lane runs every rule, and a soak's
        # budget is shared by one lane (from the rule it takes next).
        print(f"{entry.name}: one lane only: {why}", file=sys.stderr)
        engine.seconds = share(1)

    library_env = runner.launch.env if isinstance(runner, Worker) else {}  # for reproducers
    print(f"{entry.name}: {version.text} (held to SSL_new(3) {version.page()})", file=sys.stderr)
    settle_heap()

    def run_one(engine: Engine, rule_id: str) -> RuleResult:
        try:
            result = engine.run(rule(rule_id))
        except Unavailable as exc:
            result = RuleResult(rule_id, "error", detail=f"worker unavailable: {exc}")
        except AdapterFault as fault:  # raised where the engine does not catch it
            result = RuleResult(
                rule_id,
                "error",
                detail=fault.detail,
                script=fault.script.to_json() if fault.script else None,
            )
        except Exception as exc:  # a harness bug must not lose what was measured
            result = RuleResult(
                rule_id,
                "error",
                detail=f"{type(exc).__name__}: {exc}\n{traceback.format_exc().rstrip()}",
            )
        result.reproducer = reproduce(result, results.library, library_env)
        return result

    ended: dict[int, RuleResult] = {}
    try:
        for index, result in lanes.run(
            engine,
            [lane_engine] if launch is not None else [],
            ids,
            run_one,
            forget=runner.forget if isinstance(runner, Worker) else lambda: None,
            said=one_lane,
        ):
            ended[index] = result
            if progress is not None:
                progress.ended(result.id)
            results.rules = [ended[i] for i in sorted(ended)]  # the catalogue's order
            results.write(out)
            if not args.quiet:
                print(
                    ("\r\033[K" if progress else "")
                    + f"  {result.status:14} {result.id}"
                    + (f"  {result.detail}" if result.detail and result.status != "pass" else ""),
                    file=sys.stderr,
                )
        from conformance import beyond

        try:
            results.observations = beyond.observations(runner)
        except Unavailable as exc:  # observations are extra: the rules' results stand
            print(f"{entry.name}: no observations: {exc}", file=sys.stderr)
        except AdapterFault as fault:
            print(f"{entry.name}: no observations: {fault.summary}", file=sys.stderr)
    except KeyboardInterrupt:
        results.state, results.reason = "aborted", "interrupted"
        results.write(out)
        return 130
    finally:
        for each in runners:
            each.close()
    results.state = "complete"
    results.write(out)
    failed = [r.id for r in results.rules if r.status == "fail"]
    counts = {
        s: sum(r.status == s for r in results.rules)
        for s in dict.fromkeys(r.status for r in results.rules)
    }
    print(
        f"{entry.name}: " + ", ".join(f"{n} {s}" for s, n in counts.items()) + f" -> {out}",
        file=sys.stderr,
    )
    return 1 if args.fail_on_deviation and failed else 0


def _duration(text: str) -> float:
    """Seconds from "90s", "10m", "1.5h" or a bare number of seconds."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", text.strip())
    if not m or float(m[1]) <= 0:
        raise UserError(f"--budget {text}: a duration such as 90s, 10m or 2h")
    return float(m[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[m[2]]


class _ProgressLine:
    """A soak's progress on the terminal, rewritten in place: each rule under way (one per
    lane) with its scripts so far and their rate, and the time the whole soak has left."""

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.started = time.monotonic()
        self.running: dict[str, tuple[int, float]] = {}  # rule -> (scripts, seconds)
        self.lock = threading.Lock()  # the lanes report from their own threads

    def __call__(self, rule_id: str, scripts: int, rule_seconds: float) -> None:
        with self.lock:
            self.running[rule_id] = (scripts, rule_seconds)
            left = max(0.0, self.budget - (time.monotonic() - self.started))
            rules = [
                f"{rule} {done:,} scripts ({done / max(1e-9, secs):,.0f}/s)"
                for rule, (done, secs) in self.running.items()
            ]
            line = " | ".join([*rules, f"{left:,.0f} s left"])
            # One terminal line, or \r would not take it back.
            width = shutil.get_terminal_size().columns - 1
            print(f"\r\033[K{line[:width]}", end="", file=sys.stderr, flush=True)

    def ended(self, rule_id: str) -> None:
        with self.lock:
            self.running.pop(rule_id, None)


def cmd_replay(args: argparse.Namespace) -> int:
    from conformance.interpreter import Interpreter

    path = Path(args.script)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: cannot read a JSON script: {exc}") from None
    if isinstance(data, dict) and "rules" in data:  # a results file: take one rule's script
        if not args.rule:
            raise UserError(f"{path} is a results file: name the rule with --rule")
        found = [r for r in data["rules"] if r.get("id") == args.rule and r.get("script")]
        if not found:
            raise UserError(f"{path}: no script recorded for rule {args.rule}")
        data = found[0]["script"]
    try:
        script = Script.from_json(data)
    except (ValueError, TypeError) as exc:
        raise UserError(f"{path}: {exc}") from None
    entry = _backend(args.backend)
    try:
        runner = open_runner(entry, _lib_dir(args), args.timeout)
        version = runner.hello()["version"]
        failing = any(op.op in ("ssl_new_failing", "ssl_dup_failing") for op in script.ops)
        # Allocation failures need the adapter's allocator hooks (see engine.FEATURE_OPTIONS).
        trace = (runner.variant({"alloc_hooks": "1"}) if failing else runner).run(script)
    except Unavailable as exc:
        raise UserError(f"{entry.name}: unavailable: {exc}") from None
    finally:
        if "runner" in locals():
            runner.close()
    model = Interpreter(load_adapter(_backend(REFERENCE)).load(None, {})).run(script)
    print(f"# {entry.name}: {version}")
    differ = 0
    for i, (op, got, want) in enumerate(zip(script.ops, trace, model, strict=False)):
        same = got.to_json() == want.to_json()
        differ += not same
        print(
            f"{i:2} {op}\n     {entry.name}: {got.to_json()}"
            + ("" if same else f"\n     model: {want.to_json()}")
        )
    if len(trace) < len(script.ops):
        print(f"# the backend stopped after {len(trace)} of {len(script.ops)} operations")
    print(
        f"# {differ} observation(s) differ from the reference model "
        "(library defaults differ from the model's; the rules compare a library with itself)"
    )
    return 0


def _backend(name: str) -> Backend:
    try:
        return backend(name)
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from None


def cmd_backends(args: argparse.Namespace) -> int:
    for name, entry in sorted(all_backends().items()):
        print(f"{name:12} {entry.family:18} {entry.summary}")
    return 0


def parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line; with `argv`, only the commands it may need from other packages."""
    top = argparse.ArgumentParser(prog="sslconform", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("rules", help="print the rules catalogue and its page coverage")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_rules)

    p = sub.add_parser("backends", help="list the backends (matrix columns)")
    p.set_defaults(func=cmd_backends)

    def backend_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--backend", required=True, help="a name from 'sslconform backends'")
        p.add_argument(
            "--lib",
            help="directory holding the libssl/libcrypto to test "
            "(default: $SSLCONFORM_LIB, else the backend's own)",
        )
        p.add_argument(
            "--timeout",
            type=float,
            default=10.0,
            help="seconds one script may take before it counts as a hang",
        )

    p = sub.add_parser("run", help="hold one backend to every rule; write a results file")
    backend_args(p)
    p.add_argument("--results", required=True, help="the JSON results file to write")
    p.add_argument(
        "--profile",
        default=os.environ.get("SSLCONFORM_PROFILE", "default"),
        help="quick, default or thorough (examples per rule)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--budget",
        help="a soak: explore for this long in all (90s, 10m, 2h), shared among the rules, "
        "instead of the profile's count of scripts",
    )
    p.add_argument(
        "--workers",
        type=int,
        choices=(1, 2),
        default=2,
        help="worker processes per native library (2: two rules at a time, one on each)",
    )
    p.add_argument("--rules", nargs="*", help="rule ids or glob patterns (default: all)")
    p.add_argument("--fail-on-deviation", action="store_true", help="exit 1 when any rule failed")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_run)
    importlib.import_module("conformance.gate").extend_run(p)  # --expected, --junit

    p = sub.add_parser("replay", help="run one script again on a backend")
    p.add_argument("script", help="a script JSON file, or a results file with --rule")
    p.add_argument("--rule", help="with a results file: the rule whose script to replay")
    backend_args(p)
    p.set_defaults(func=cmd_replay)

    for name in EXTENSIONS:
        importlib.import_module(name).register(sub)
    asked = next((a for a in argv if not a.startswith("-")), None) if argv is not None else None
    wants_help = argv is None or not argv or "-h" in argv or "--help" in argv
    for provider in sorted(entry_points(group=COMMANDS_GROUP), key=lambda ep: ep.name):
        if wants_help or asked == provider.name:
            provider.load()(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser(argv).parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except (UserError, NoBackends) as exc:
        print(f"sslconform: {exc}", file=sys.stderr)
        return 2
    except (ValueError, KeyError, OSError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"sslconform: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
