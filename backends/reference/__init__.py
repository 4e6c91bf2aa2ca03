"""The reference model: the page itself, as a library (the oracle)."""

from conformance.registry import Backend

BACKENDS = [
    Backend(
        name="reference",
        family="reference model",
        adapter="conformance.model",
        summary="pure-Python model of SSL_new(3); every rule holds by construction",
        in_process=True,
    )
]
