"""Checking the certificates of an Alipay account in certificate mode (公钥证书模式) before they are saved.

The three files a merchant downloads from Alipay's open platform: the app's public-key certificate
(appCertPublicKey_<app id>.crt), Alipay's (alipayCertPublicKey_RSA2.crt) and Alipay's root certificates
(alipayRootCert.crt). The root file is read the way the SDK reads it (certificates separated by a blank line,
only the RSA-signed ones counted in ``alipay_root_cert_sn``), so what passes here is what the gateway can use.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.utils.translation import gettext as _

from payments.gateways.alipay import DCAliPay, OpenSSLError

FIELDS = ("app_certificate", "provider_certificate", "provider_root_certificate")


def normalized(text: str) -> str:
    """Line ends as the SDK expects them (it splits the root file on blank lines)."""
    return text.replace("\r\n", "\n").strip() + "\n" if text.strip() else ""


def _certificate(text: str) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(text.encode())
    except ValueError:
        return None


def _public_key_pem(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def certificate_problems(*, private_key: str, certificates: dict[str, str]) -> dict[str, str]:
    """What is wrong with the certificates (field name → message); empty when they can be used (or when none is
    given: public-key mode). ``certificates``: the texts of :data:`FIELDS`."""
    given = {name for name in FIELDS if certificates.get(name)}
    if not given:
        return {}
    problems = {name: _("Certificate mode needs all three certificates.") for name in FIELDS if name not in given}
    app = _certificate(certificates.get("app_certificate", "")) if "app_certificate" in given else None
    if "app_certificate" in given and app is None:
        problems["app_certificate"] = _("This is not a PEM certificate.")
    if "provider_certificate" in given and _certificate(certificates["provider_certificate"]) is None:
        problems["provider_certificate"] = _("This is not a PEM certificate.")
    if "provider_root_certificate" in given:
        try:
            root_sn = DCAliPay.get_root_cert_sn(certificates["provider_root_certificate"])
        except (OpenSSLError, ValueError):
            root_sn = None
        if not root_sn:
            problems["provider_root_certificate"] = _("Alipay's root certificate file has no RSA root certificate.")
    if app is not None and private_key:
        try:
            signing_key = serialization.load_pem_private_key(private_key.encode(), password=None)
        except (ValueError, TypeError):
            signing_key = None  # the SDK reads keys the cryptography library does not: not judged here
        if signing_key is not None and _public_key_pem(signing_key.public_key()) != _public_key_pem(app.public_key()):
            problems["app_certificate"] = _("This certificate is not the certificate of the application private key.")
    return problems
