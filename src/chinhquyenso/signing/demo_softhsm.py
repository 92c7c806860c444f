"""The demo's SoftHSM2 token (issue #4): the chairman's key on a software PKCS#11 token under
`var_dir/softhsm/`, so `make demo` signs through the same PKCS#11 path as a USB token.

`ensure_softhsm_token` initialises it once (nothing when SoftHSM2 or OpenSC's pkcs11-tool is
missing); `SofthsmKey` opens it with its own SOFTHSM2_CONF and puts the environment back.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization

from chinhquyenso.core.private_files import write_private
from chinhquyenso.signing.keys import Pkcs11Key

if TYPE_CHECKING:
    from chinhquyenso.signing.demo import DemoPki

log = logging.getLogger(__name__)

SOFTHSM_LIB = "/usr/lib/softhsm/libsofthsm2.so"
SOFTHSM_TOKEN = "cqs-demo"  # noqa: S105 - a token label
SOFTHSM_PIN = "246810"  # noqa: S105 - published demo PIN
SOFTHSM_SO_PIN = "1357911"  # noqa: S105 - published demo PIN


def _softhsm_env(var_dir: Path) -> Path:
    base = Path(var_dir) / "softhsm"
    (base / "tokens").mkdir(parents=True, exist_ok=True)
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    return conf


def _reset_pkcs11() -> None:
    """Forget an initialised SoftHSM2 library so the next session reads SOFTHSM2_CONF again
    (it is read once, at C_Initialize)."""
    import pkcs11

    lib = pkcs11._loaded.get(SOFTHSM_LIB)  # noqa: SLF001 (python-pkcs11 keeps no other handle)
    if lib is not None and lib.initialized:
        lib.finalize()


def ensure_softhsm_token(var_dir: Path, pki: DemoPki, password: str) -> Path | None:
    """A SoftHSM2 token `cqs-demo` holding the chairman's key and certificate. Returns the
    softhsm2.conf path, or None when SoftHSM2 (and pkcs11-tool) are not installed."""
    if not (
        shutil.which("softhsm2-util") and shutil.which("pkcs11-tool") and Path(SOFTHSM_LIB).exists()
    ):
        return None
    conf = _softhsm_env(var_dir)
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}

    def run(*args):
        return subprocess.run(  # noqa: S603 (fixed SoftHSM2/OpenSC commands)
            args, check=True, capture_output=True, timeout=60, env=env, text=True
        )

    if SOFTHSM_TOKEN in run("softhsm2-util", "--show-slots").stdout:
        return conf
    run(
        "softhsm2-util", "--init-token", "--free", "--label", SOFTHSM_TOKEN,
        "--pin", SOFTHSM_PIN, "--so-pin", SOFTHSM_SO_PIN,
    )  # fmt: skip
    base = conf.parent
    key = serialization.load_pem_private_key(
        pki.key_pem("chutich.tinh"), password=password.encode()
    )
    plain = base / "import.key.pem"
    write_private(
        plain,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    der = base / "chutich.tinh.der"
    der.write_bytes(pki.der("chutich.tinh"))
    try:
        run(
            "softhsm2-util", "--import", str(plain), "--token", SOFTHSM_TOKEN,
            "--label", "chutich.tinh", "--id", "01", "--pin", SOFTHSM_PIN,
        )  # fmt: skip
        run(
            "pkcs11-tool", "--module", SOFTHSM_LIB, "--token-label", SOFTHSM_TOKEN,
            "--login", "--pin", SOFTHSM_PIN, "--write-object", str(der), "--type", "cert",
            "--label", "chutich.tinh", "--id", "01",
        )  # fmt: skip
    finally:
        plain.unlink(missing_ok=True)  # the key lives on the token now, not on disk in clear
    log.info("demo SoftHSM2 token %s initialised under %s", SOFTHSM_TOKEN, base)
    return conf


class SofthsmKey:
    """Open the demo token with its own SOFTHSM2_CONF, and put everything back afterwards."""

    def __init__(self, conf: Path, pki: DemoPki):
        self.conf, self.pki = conf, pki

    def __enter__(self) -> Pkcs11Key:
        self.previous = os.environ.get("SOFTHSM2_CONF")
        os.environ["SOFTHSM2_CONF"] = str(self.conf)
        _reset_pkcs11()
        self.key = Pkcs11Key(
            lib=SOFTHSM_LIB,
            token_label=SOFTHSM_TOKEN,
            pin=SOFTHSM_PIN,
            key_label="chutich.tinh",
            chain=(self.pki.der("issuing"),),
        )
        return self.key

    def __exit__(self, *exc):
        self.key.close()
        _reset_pkcs11()
        if self.previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = self.previous
