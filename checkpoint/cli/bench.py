"""`checkpoint bench …`: the benchmarks. Each benchmark is its own module, `bench_<name>.py` here,
with a `register(group)` function that adds its command to this group."""

from __future__ import annotations

import importlib

import click

BENCHMARKS = ("store", "scan", "latency", "issue", "ui", "audit", "sync", "county")


@click.group("bench")
def bench_group() -> None:
    """Benchmarks; they print their figures beside the peers they are compared to."""


def register(cli: click.Group) -> None:
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(f"{__package__}.bench_{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.bench_{name}":
                raise
            continue
        module.register(bench_group)
    cli.add_command(bench_group)
