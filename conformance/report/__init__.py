"""Reports built from results files: what people act on.

    sslconform report RESULTS... --out DIR   # files or folders of *.json
    sslconform diff OLD NEW                  # files (any two backends) or folders
    sslconform schema                        # the JSON Schema of a results file

`report` writes, from any set of results files:

- DIR/index.html: one self-contained page (inline CSS and script, allowed by hash in a
  strict Content-Security-Policy; opens from disk, fetches nothing). Rules grouped as the
  page groups them, each beside its verbatim quote; a summary and chart per backend;
  filters by status, by backend and "only where the backends disagree"; every cell opens
  a drill-down: expected and observed, the minimal script and its trace, the seed and
  the commands that replay it, and a C reproducer with whether it reproduced.
- DIR/repro/BACKEND/RULE.c: the C reproducers as the runs recorded them (conformance.repro
  built and ran each during `sslconform run`, against the library measured).
- DIR/summary.md: counts and deviations, for a pull request (with --baseline, what
  changed since earlier results; also DIR/diff.md).
- DIR/junit/BACKEND.xml: one JUnit suite per backend, for CI.
- DIR/schema.json: the schema the results were checked against.

Results are validated with jsonschema against the schema generated from
conformance.results (schema/results.schema.json is the published copy); without
jsonschema installed, the report says so and reads them unchecked. The same inputs give
byte-identical outputs: everything is sorted and nothing reads the clock.
"""
