"""A set-up the gateway cannot run with, said in one line: which setting (by its environment
variable), what is wrong with it, and what to provision. The CLI prints that line and exits 2,
so an operator reads the fix, not a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import ValidationError
from sqlalchemy import exc as sa


class ConfigurationError(Exception):
    """Raised where a setting's file or value is loaded; never carries a secret (only paths and what is wrong)."""

    def __init__(self, setting: str, problem: str, fix: str) -> None:
        super().__init__(f"{setting}: {problem}; {fix}")
        self.setting, self.problem, self.fix = setting, problem, fix


@contextmanager
def provisioned(setting: str, what: str) -> Iterator[None]:
    """Load what `setting` names inside this block: a file that is missing, unreadable or not
    `what` becomes the ConfigurationError naming the setting and saying to provision `what`."""
    try:
        yield
    except FileNotFoundError as missing:
        raise ConfigurationError(setting, f"{missing.filename or 'a file it names'} does not exist", f"provision at that path {what}") from None
    except PermissionError as denied:
        raise ConfigurationError(setting, f"{denied.filename} cannot be read", f"let the gateway's user read {what}") from None
    except (ValueError, TypeError, OSError) as invalid:
        raise ConfigurationError(setting, f"not {what}: {one_line(invalid)}", f"provision {what}") from None


DATABASE_FIX = "set a valid value: postgresql+psycopg://user@host/db (production) or sqlite:///path"


@contextmanager
def reachable_database() -> Iterator[None]:
    """Open GATEWAY_DATABASE_URL inside this block at start-up: a URL that does not parse, names a
    driver that is not installed, or leads to no database becomes the ConfigurationError naming it.
    The URL itself is never repeated (it may hold a password)."""
    try:
        yield
    except sa.NoSuchModuleError:
        raise ConfigurationError("GATEWAY_DATABASE_URL", "names a database driver that is not installed", DATABASE_FIX) from None
    except sa.ArgumentError:
        raise ConfigurationError("GATEWAY_DATABASE_URL", "is not a database URL", DATABASE_FIX) from None
    except sa.OperationalError as unreachable:
        raise ConfigurationError(
            "GATEWAY_DATABASE_URL", f"no database answers there: {one_line(unreachable.orig or unreachable)}",
            "provision the database there (start it), or correct the host, port, name and credentials",
        ) from None


def one_line(error: Exception) -> str:
    """An error's gist without its inputs: pydantic's many-line report shrinks to its first error's place and rule."""
    if isinstance(error, ValidationError):
        first = error.errors(include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "top level"
        return f"{error.error_count()} error(s), the first at {where}: {first['msg']}"
    return (str(error).splitlines() or [type(error).__name__])[0]


def from_settings(error: ValidationError) -> ConfigurationError:
    """What `Settings()` refused, named by its environment variable (the first error: one line). A
    check across settings has no field; its message starts with the variable it is about."""
    first = error.errors(include_input=False)[0]
    problem = first["msg"].removeprefix("Value error, ")
    if first["loc"]:
        setting = f"GATEWAY_{str(first['loc'][0]).upper()}"
    else:
        setting, _, problem = problem.partition(" ")
    return ConfigurationError(setting, problem, "set a valid value (see README, Configuration)")
