"""Settings from the environment and `.env` (docs/BEHAVIOUR.md, 'Environment')."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticUseDefault
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.journal import checked_database_url, describe_journal


class SettingsError(Exception):
    """One line that names the variable and the problem, never its value."""


MAX_WEB_CONCURRENCY = 64

APP_ID_NOT_A_NUMBER = (
    "must be the App ID, a number: its settings on GitHub show it under About, above the "
    "Client ID (Iv1...), which is not it"
)

DEFAULT_GITHUB_API_URL = "https://api.github.com"
# GHE_HOST: a host name or an IP address (IPv6 in brackets), and a port if any.
_HOST_AND_PORT = re.compile(
    r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)
# How a PEM begins, whatever it holds (RSA, PKCS #8, EC...).
PEM_BEGINS = "-----BEGIN "
# Probot's names for the log's level and format, for settings carried over from a Probot app;
# any of these settings is read in any case.
PROBOT_NAMES = {
    "log_level": {"trace": "debug", "warn": "warning", "fatal": "critical"},
    "log_format": {"pretty": "console"},
    "ghe_protocol": {},
}


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=True,
        extra="ignore",
        populate_by_name=False,
        # `APP_ID=` left blank in the environment (a compose file's placeholder) means unset:
        # the .env the setup page writes is read instead, as it is for a variable not set.
        env_ignore_empty=True,
    )

    app_id: int | None = Field(default=None, validation_alias=_env("APP_ID"), gt=0)
    private_key: SecretStr | None = Field(default=None, validation_alias=_env("PRIVATE_KEY"))
    private_key_path: Path | None = Field(default=None, validation_alias=_env("PRIVATE_KEY_PATH"))
    webhook_secret: SecretStr | None = Field(default=None, validation_alias=_env("WEBHOOK_SECRET"))
    # Shows the status page's details (repositories, pull requests, errors); unset: to nobody.
    admin_token: SecretStr | None = Field(default=None, validation_alias=_env("ADMIN_TOKEN"))
    # A chat's incoming webhook: notices are posted there too. Its URL is its credential.
    notify_webhook_url: SecretStr | None = Field(
        default=None, validation_alias=_env("NOTIFY_WEBHOOK_URL")
    )
    github_api_url: str = Field(
        default=DEFAULT_GITHUB_API_URL, validation_alias=_env("GITHUB_API_URL")
    )
    # Probot's names for a GitHub Enterprise Server: its host, and the scheme to reach it by.
    # They stand for GITHUB_API_URL when that is unset (`_enterprise_server`).
    ghe_host: str | None = Field(default=None, validation_alias=_env("GHE_HOST"))
    ghe_protocol: Literal["https", "http"] = Field(
        default="https", validation_alias=_env("GHE_PROTOCOL")
    )
    webhook_path: str = Field(default="/api/github/webhooks", validation_alias=_env("WEBHOOK_PATH"))
    host: str = Field(default="127.0.0.1", validation_alias=_env("HOST"))
    port: int = Field(default=3000, validation_alias=_env("PORT"), ge=0, le=65535)
    database_url: str = Field(
        default="sqlite:///hotfix-bot.db", validation_alias=_env("DATABASE_URL")
    )
    log_level: Literal["debug", "info", "warning", "error", "critical"] = Field(
        default="info", validation_alias=_env("LOG_LEVEL")
    )
    log_format: Literal["json", "console"] = Field(
        default="console", validation_alias=_env("LOG_FORMAT")
    )
    # Intake processes sharing the port; each takes ~75 MiB (docs/ADMIN.md, 'Deploy'), so a
    # stray zero too many is refused rather than started.
    web_concurrency: int = Field(
        default=1, validation_alias=_env("WEB_CONCURRENCY"), ge=1, le=MAX_WEB_CONCURRENCY
    )

    @field_validator(
        "app_id",
        "private_key",
        "private_key_path",
        "webhook_secret",
        "admin_token",
        "notify_webhook_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `APP_ID=` in a .env file means "not configured yet", as in Probot.
        return None if value == "" else value

    @field_validator("github_api_url", "notify_webhook_url", "database_url", mode="before")
    @classmethod
    def _url_trimmed(cls, value: object) -> object:
        # No URL begins or ends with whitespace; a value pasted or read from a file often does.
        # Only whitespace is unset, as empty is (`env_ignore_empty`).
        if isinstance(value, str) and not value.strip():
            raise PydanticUseDefault
        return value.strip() if isinstance(value, str) else value

    @field_validator("app_id", mode="before")
    @classmethod
    def _app_id_is_a_number(cls, value: object) -> object:
        # The App's settings page shows its App ID and, right below it, its Client ID (Iv1.…,
        # Iv23…), which is often taken for it.
        if isinstance(value, str) and value and not value.strip().lstrip("+-").isdigit():
            raise ValueError(APP_ID_NOT_A_NUMBER)
        return value

    @field_validator("log_level", "log_format", "ghe_protocol", mode="before")
    @classmethod
    def _lower(cls, value: object, field: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        assert field.field_name is not None
        return PROBOT_NAMES[field.field_name].get(value.lower(), value.lower())

    @field_validator("ghe_host", mode="before")
    @classmethod
    def _host(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        host = value.strip().rstrip("/")
        if not host:  # only whitespace is unset, as empty is
            raise PydanticUseDefault
        if not _HOST_AND_PORT.fullmatch(host):
            raise ValueError(
                "must be a host alone, like github.example.com (a port allowed), with no "
                "scheme, path or credentials"
            )
        return host

    @model_validator(mode="after")
    def _enterprise_server(self) -> Settings:
        """A Probot app's settings for GitHub Enterprise Server name its host alone: its API
        is under /api/v3 there. A GITHUB_API_URL other than the default is taken as it is."""
        if self.ghe_host is not None and self.github_api_url == DEFAULT_GITHUB_API_URL:
            self.github_api_url = f"{self.ghe_protocol}://{self.ghe_host}/api/v3"
        return self

    @field_validator("github_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        _check_http_url(
            value, "like https://api.github.com or https://HOST/api/v3 (GitHub Enterprise Server)"
        )
        return value.rstrip("/")

    @field_validator("admin_token")
    @classmethod
    def _not_only_whitespace(cls, value: SecretStr | None) -> SecretStr | None:
        # Spaces typed into the status page's form would match it.
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("is only whitespace: choose a secret, e.g. `openssl rand -hex 32`")
        return value

    @field_validator("notify_webhook_url")
    @classmethod
    def _secret_http_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _check_http_url(value.get_secret_value(), "like https://hooks.slack.com/services/…")
        return value

    @field_validator("webhook_path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        if value == "/":
            # POST / is the status page's ADMIN_TOKEN form.
            raise ValueError(
                "/ is the status page: give deliveries a path of their own, like "
                "/api/github/webhooks"
            )
        if "?" in value or "#" in value:
            # Requests are routed by their path alone: no delivery would ever match.
            raise ValueError("must be a path alone, without ? or #")
        return value

    @field_validator("database_url")
    @classmethod
    def _journal_url(cls, value: str) -> str:
        return checked_database_url(value)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A PostgreSQL DATABASE_URL holds its password: the repr says where the journal is.
        for name, value in super().__repr_args__():
            yield name, describe_journal(value) if name == "database_url" else value

    @property
    def has_credentials(self) -> bool:
        return self.app_id is not None and (
            self.private_key is not None or self.private_key_path is not None
        )

    @property
    def private_key_variable(self) -> str:
        """The variable the App's key is read from, as messages name it."""
        return "PRIVATE_KEY" if self.private_key is not None else "PRIVATE_KEY_PATH"

    def private_key_pem(self) -> str | None:
        """The App's PEM key, checked to be a usable private key."""
        if self.private_key is not None:
            variable, pem = "PRIVATE_KEY", self.private_key.get_secret_value()
        elif self.private_key_path is not None:
            variable = "PRIVATE_KEY_PATH"
            try:
                pem = self.private_key_path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                reason = error.strerror if isinstance(error, OSError) else "not a text file"
                raise SettingsError(
                    f"PRIVATE_KEY_PATH: cannot read the key file {self.private_key_path}: {reason}"
                ) from None
        else:
            return None
        # Hosting platforms often store a PEM on one line with literal \n escapes, or \r\n
        # ones when it was copied from a file saved on Windows.
        pem = pem.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\r\n", "\n").strip() + "\n"
        if variable == "PRIVATE_KEY":
            pem = _decoded_if_base64(pem)
        try:
            key = load_pem_private_key(pem.encode(), password=None)
        except (ValueError, TypeError):
            raise SettingsError(f"{variable}: not a PEM private key without a passphrase") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            # GitHub takes an App's tokens signed RS256 alone; certbot's privkey.pem, say, is EC.
            where = f"{self.private_key_path} is" if variable == "PRIVATE_KEY_PATH" else "this is"
            raise SettingsError(
                f"{variable}: {where} {_key_kind(key)} key; a GitHub App's private key is RSA: "
                "generate one in the App's settings on GitHub and use the .pem it downloads"
            )
        return pem


def _decoded_if_base64(value: str) -> str:
    """The PEM a base64-encoded `PRIVATE_KEY` holds, as Probot takes one (a PEM's line breaks
    survive no platform's one-line secret); `value` itself when it is not that."""
    if PEM_BEGINS in value:
        return value
    try:
        decoded = base64.b64decode("".join(value.split()), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return value
    return decoded.replace("\r\n", "\n").strip() + "\n" if PEM_BEGINS in decoded else value


def _check_http_url(value: str, example: str) -> None:
    """ValueError unless `value` is an http(s) URL naming a host (and a port, if any, that is a
    number); the error never holds the value, which may be a secret."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    try:
        parts = urlsplit(value)
        host, _ = parts.hostname, parts.port
    except ValueError:  # an IPv6 address without its ], a port that is no number
        host = None
    if not host:
        raise ValueError(f"must name a host (and any port as a number), {example}")


def load_settings(env_file: Path | str | None = ".env") -> Settings:
    """Read and check the settings; raise SettingsError with one line naming the variable."""
    try:
        settings = Settings(_env_file=env_file)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        variable = ".".join(str(part) for part in first["loc"])
        raise SettingsError(f"{variable}: {_plain(first['msg'])}") from None
    except UnicodeDecodeError as error:
        # Its bytes may be a secret's: say where, not what.
        raise SettingsError(
            f"{env_file}: not UTF-8 text (byte {error.start + 1} cannot be read); save it as UTF-8"
        ) from None
    except OSError as error:
        # Reading .env is the only I/O here: typically a 0600 file the setup page wrote as
        # another user, or one bind-mounted into a container that runs as uid 10001.
        raise SettingsError(
            f"{env_file}: cannot read the file: {error.strerror}; make it readable to the user "
            "hotfix-bot runs as (and to no one else: it holds secrets)"
        ) from None
    if settings.app_id is not None and not settings.has_credentials:
        raise SettingsError("PRIVATE_KEY: required when APP_ID is set (or set PRIVATE_KEY_PATH)")
    settings.private_key_pem()
    return settings


def _key_kind(key: PrivateKeyTypes) -> str:
    """The kind of a private key, for people: "an EC", "an Ed25519", ..."""
    kinds = {
        ec.EllipticCurvePrivateKey: "an EC",
        ed25519.Ed25519PrivateKey: "an Ed25519",
        ed448.Ed448PrivateKey: "an Ed448",
        dsa.DSAPrivateKey: "a DSA",
    }
    return next((kind for base, kind in kinds.items() if isinstance(key, base)), "not an RSA")


def _plain(message: str) -> str:
    # pydantic says "Value error, must be ..." for our own validators.
    return message.removeprefix("Value error, ")
