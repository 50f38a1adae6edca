"""The scan corpus for tests: real passes issued by the core, through `scanner.corpus` (a thin wrapper).

`scanner.corpus` holds the generator itself (the `checkpoint bench scan` command needs it and `tests/` is
not installed with the product); here it is fed passes issued by a real office registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from checkpoint.models import Category
from checkpoint.registry import IssuedPass
from scanner.corpus import CATEGORIES, Sample, generate

__all__ = ["CATEGORIES", "pass_texts", "samples"]


def pass_texts(issue: Callable[..., IssuedPass], count: int = 3) -> list[str]:
    """`count` passes issued for real (different categories, plates and names)."""
    categories = list(Category)
    plates = ["鄂A12345", "鄂B6789X", "鄂AD12345", "京A00001"]
    return [
        issue(plate=plates[i % len(plates)], category=categories[i % len(categories)]).payload
        for i in range(count)
    ]


def samples(
    texts: Sequence[str],
    *,
    frames_per_category: int = 2,
    seed: int = 2026,
    categories: Sequence[str] = CATEGORIES,
) -> list[Sample]:
    return list(generate(texts, frames_per_category=frames_per_category, seed=seed, categories=categories))
