"""Options and error handling shared by every dcbench command."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from dcbench.device import DEVICE_CHOICES
from dcbench.errors import DcbenchError


def parse_assignments(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``key=value`` settings (see :func:`dcbench.config.parse_assignments`)."""
    from dcbench.config import parse_assignments as parse

    return parse(pairs)


def split_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in split_list(text)]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of integers") from None
    if not seeds:
        raise click.BadParameter("no seeds given")
    return seeds


def data_options(f: Callable) -> Callable:
    f = click.option("--download", is_flag=True,
                     help="Allow torchvision datasets to be downloaded into the data root.")(f)
    f = click.option("--data-root", type=click.Path(file_okay=False), default=None,
                     envvar="DCBENCH_DATA_ROOT",
                     help="Where datasets live (env DCBENCH_DATA_ROOT). Fashion-MNIST defaults "
                          "to Debian's /usr/share/datasets/fashion-mnist.")(f)
    return f


def runtime_options(f: Callable) -> Callable:
    f = click.option("--quiet", is_flag=True, help="No progress bars.")(f)
    f = click.option("--threads", type=int, default=None,
                     help="torch CPU threads (default: torch's choice).")(f)
    f = click.option("--device", type=click.Choice(DEVICE_CHOICES + ("cuda:0", "cuda:1")),
                     default="auto", show_default=True,
                     help="auto uses CUDA when available.")(f)
    return f


def user_errors(f: Callable) -> Callable:
    """Turn DcbenchError into click's one-line ``Error: ...`` with exit code 1."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except DcbenchError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper
