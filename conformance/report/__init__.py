"""Reports built from results files: what people act on.

    sslconform report RESULTS... --out DIR   # files or folders of *.json
        [--previous RESULTS]                 # what changed since; each cell's history
        [--expected FILE|DIR]                # known deviations (reason, link), new apart
    sslconform diff OLD NEW                  # files (any two backends) or folders
    sslconform schema                        # the JSON Schema of a results file

`report` only renders: the results files carry everything it shows (the catalogue
entries of the rules each run was held to, the library, each cell's C reproducer as the
run built and ran it, each pass's evidence that it could fail). It compiles nothing,
runs no library and imports no backend, so it builds the same bytes on any machine.
From any set of results files it writes:

- DIR/index.html: one self-contained page (inline CSS and script, allowed by hash in a
  strict Content-Security-Policy; opens from disk, fetches nothing). Rules grouped as the
  page groups them, one line each (id and a short summary; the quotes are in the rule's
  drill-down); columns grouped by family and ordered by version, with since which
  version a family breaks each rule and in which it was fixed; a summary and chart per
  backend; filters by status, by backend and "only where the backends disagree"; every
  cell opens a drill-down by its permalink (#RULE@COLUMN): expected and observed, the
  minimal script and its trace, the seed and the commands that replay it, and the C
  reproducer with whether it reproduced; every column opens its anomalies (what breaks,
  what could not be observed, what it lacks). With --expected, each cell as the gate
  judges it (known with reason and link, new, changed, fixed) and the two lists; with
  --previous, what is new, what is fixed, each changed cell marked, and each cell's
  history of earlier runs (several runs of one backend are one column, by `started`).
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
