"""Reports built from results files: what people act on.

    sslconform report RESULTS... --out DIR   # files or folders of *.json
    sslconform diff OLD NEW                  # files (any two backends) or folders
    sslconform schema                        # the JSON Schema of a results file

`report` only renders: the results files carry everything it shows (the catalogue
entries of the rules each run was held to, the library, each cell's C reproducer as the
run built and ran it, each pass's evidence that it could fail). It compiles nothing,
runs no library and imports no backend, so it builds the same bytes on any machine.
From any set of results files it writes:

- DIR/index.html: one self-contained page (inline CSS and script, allowed by hash in a
  strict Content-Security-Policy; opens from disk, fetches nothing). Rules grouped as the
  page groups them, each beside its verbatim quote; a summary and chart per backend;
  filters by status, by backend and "only where the backends disagree"; every cell opens
  a drill-down: expected and observed, the minimal script and its trace, the seed and
  the commands that replay it, and the C reproducer with whether it reproduced.
- DIR/repro/BACKEND/FILE.c: each reproducer's source, to download.
- DIR/summary.md: counts and deviations, for a pull request (with --baseline, what
  changed since earlier results; also DIR/diff.md).
- DIR/junit/BACKEND.xml: one JUnit suite per backend, for CI.
- DIR/schema.json: the schema of a results file.

The HTML page and the Markdown summary are Jinja2 templates (templates/) with
autoescaping. Results files are validated as they are read (conformance.results, whose
models the published schema/results.schema.json is generated from). The same inputs
give byte-identical outputs: everything is sorted and nothing reads the clock.
"""
