"""Reports built from results files: HTML matrix, JUnit, Markdown, diffs, JSON Schema."""
