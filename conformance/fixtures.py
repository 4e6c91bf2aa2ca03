"""Certificates, keys and chains the settings table names, made at run time as PEM files.

They are made in the harness's own process with `cryptography`, never inside a worker:
a worker must map no libcrypto but the one under test, and the same files then serve
every column (OpenSSL 1.1.1 to 4.0, BoringSSL, wolfSSL, rustls), so what the columns
show is comparable. A worker finds the folder in $SSLCONFORM_FIXTURES.

The folder holds, for each key type of `KEY_TYPES`:
  KEY.key        the private key (PKCS#8 PEM)
  KEY.pem        a leaf certificate for it, CN "sslconform KEY", DNS name sslconform.test,
                 issued by "sslconform ca-1"
  KEY.spki-sha256  the SHA-256 of the leaf's SubjectPublicKeyInfo, in hex (DANE-EE)
and the issuers above every leaf: ca-1.pem (issued by ca-2), ca-2.pem (by root), root.pem
(self-signed), ca-1.der (DANE-TA full certificate). A chain of depth n is the first n of
ca-1, ca-2, root. Files are made once per FORMAT into the cache folder and reused.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import tempfile
from pathlib import Path

from conformance.settings import KEY_TYPES

FORMAT = 1
ENV = "SSLCONFORM_FIXTURES"
DNS_NAME = "sslconform.test"
CHAIN = ("ca-1", "ca-2", "root")  # a chain of depth n is CHAIN[:n], leaf's issuer first
DONE = "complete"  # written last: a folder without it is rebuilt


def common_name(name: str) -> str:
    """The subject CN of fixture `name` (a key type or a CHAIN entry)."""
    return f"sslconform {name}"


def default_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "sslconform" / f"fixtures-{FORMAT}"


def ensure(folder: Path | None = None) -> Path:
    """The fixtures folder, made if it is not there yet (about a tenth of a second)."""
    folder = folder or Path(os.environ.get(ENV) or default_folder())
    if (folder / DONE).exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Build beside it and rename: two runs starting at once never see half a folder.
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    _make(staging)
    (staging / DONE).write_text(f"{FORMAT}\n")
    try:
        staging.rename(folder)
    except OSError:  # another run finished first, or a stale folder without DONE
        if not (folder / DONE).exists():
            for stale in folder.iterdir():
                stale.unlink()
            folder.rmdir()
            staging.rename(folder)
        else:
            for made in staging.iterdir():
                made.unlink()
            staging.rmdir()
    return folder


def _make(folder: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    begin, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=3650)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name(cn))])

    def new_key(
        kind: str,
    ) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey:
        if kind == "rsa-2048":
            return rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "ec-p256":
            return ec.generate_private_key(ec.SECP256R1())
        if kind == "ed25519":
            return ed25519.Ed25519PrivateKey.generate()
        raise ValueError(f"unknown key type {kind}")

    def certificate(
        subject: str,
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
        issuer: str,
        issuer_key: ec.EllipticCurvePrivateKey,
        ca: bool,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name(issuer))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(begin)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(DNS_NAME)]), critical=False
            )
        return builder.sign(issuer_key, hashes.SHA256())

    def write_cert(path: Path, cert: x509.Certificate) -> None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    # The issuers sign with P-256: quick to make, accepted at every security level.
    ca_keys = {n: ec.generate_private_key(ec.SECP256R1()) for n in CHAIN}
    issuer = {"ca-1": "ca-2", "ca-2": "root", "root": "root"}
    for n in CHAIN:
        cert = certificate(n, ca_keys[n], issuer[n], ca_keys[issuer[n]], ca=True)
        write_cert(folder / f"{n}.pem", cert)
        if n == "ca-1":
            (folder / "ca-1.der").write_bytes(cert.public_bytes(serialization.Encoding.DER))
    for kind in KEY_TYPES:
        key = new_key(kind)
        (folder / f"{kind}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        leaf = certificate(kind, key, "ca-1", ca_keys["ca-1"], ca=False)
        write_cert(folder / f"{kind}.pem", leaf)
        spki = leaf.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (folder / f"{kind}.spki-sha256").write_text(hashlib.sha256(spki).hexdigest() + "\n")
