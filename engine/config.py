"""Where the database and the key are, read from the environment.

``VCASE_HOME``          folder for the default SQLite file and key file
                        (default: ``$XDG_DATA_HOME/vcase`` or ``~/.local/share/vcase``)
``VCASE_DATABASE_URL``  a SQLAlchemy URL; ``postgresql://...`` for PostgreSQL
``VCASE_KEY``           the agency's encryption key (32 bytes, urlsafe base64: ``vcase init`` makes one)
``VCASE_KEY_FILE``      a file holding that key (default: ``$VCASE_HOME/vcase.key``)
``VCASE_USER``          the staff login to act as (default: the OS login name)
``VCASE_OUTBOX``        folder for SMS spool files, letters, and emails when no SMTP host is set
                        (default: ``$VCASE_HOME/outbox``)
``VCASE_SMTP_HOST`` / ``_PORT`` / ``_STARTTLS`` / ``_USER`` / ``_PASSWORD`` / ``_FROM``: the mail server
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "vcase"


@dataclass(frozen=True)
class Config:
    home: Path
    database_url: str
    key: str | None
    key_file: Path
    outbox: Path

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def normalise_url(url: str) -> str:
    """Accept the plain ``postgresql://`` form people copy from docs; use psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load(env: dict[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    home = Path(env["VCASE_HOME"]) if env.get("VCASE_HOME") else _default_home()
    url = env.get("VCASE_DATABASE_URL") or f"sqlite:///{home / 'vcase.db'}"
    key_file = Path(env["VCASE_KEY_FILE"]) if env.get("VCASE_KEY_FILE") else home / "vcase.key"
    outbox = Path(env["VCASE_OUTBOX"]) if env.get("VCASE_OUTBOX") else home / "outbox"
    return Config(home=home, database_url=normalise_url(url), key=env.get("VCASE_KEY") or None, key_file=key_file,
                  outbox=outbox)


def current_login(env: dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    if env.get("VCASE_USER"):
        return env["VCASE_USER"]
    try:
        return getpass.getuser()
    except Exception:  # no login name on this system (containers): must be set
        return ""
