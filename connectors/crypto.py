"""Moved to :mod:`kefu.core.crypto` (payments' accounts keep their secrets the same way); this name stays for
connectors' migrations and imports."""

from kefu.core.crypto import PREFIX, EncryptedTextField, decrypt, encrypt, rotate

__all__ = ["PREFIX", "EncryptedTextField", "decrypt", "encrypt", "rotate"]
