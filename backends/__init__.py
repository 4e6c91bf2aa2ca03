"""Backend adapters: one folder per library family (see conformance.registry)."""
