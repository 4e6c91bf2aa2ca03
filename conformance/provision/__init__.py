"""Provisioning the libraries under test: Debian's archive, apt, and the loader.

- `archive`: where Debian's archive is (the machine's own apt configuration) and the
  keyring that signs it;
- `apt`: apt with a private configuration for one suite, verified against that keyring;
- `loader`: which glibc a shared object needs, and the loader prefix that runs it;
- `cache`: the folder all of it is kept in.

`conformance.fetch` (libraries from Debian's archive) and `backends.rustls.build` (crate
sources for the rustls adapter) both provision through these.
"""
