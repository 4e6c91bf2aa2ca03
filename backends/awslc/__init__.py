"""AWS-LC, BoringSSL's fork by AWS, built from Debian's aws-lc-sys crate source.

`sslconform build-awslc` (conformance.provision.awslc) builds and caches its libssl and
libcrypto; the OpenSSL ABI adapter runs them, with the binding table's AWS-LC family.
"""

from conformance.registry import Backend

BACKENDS = [
    Backend(
        name="awslc",
        family="AWS-LC",
        adapter="backends.awslc.library",
        summary="AWS-LC 5.1 (built from Debian sid's librust-aws-lc-sys-dev crate source)",
    ),
]
