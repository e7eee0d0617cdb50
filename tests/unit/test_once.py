"""OncePerPass: one fetch per key, shared by concurrent and later callers."""

from __future__ import annotations

import asyncio

import pytest

from crawler.pipeline.once import OncePerPass


async def test_concurrent_and_later_callers_share_one_fetch() -> None:
    calls = 0

    async def fetch() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return "body"

    once: OncePerPass[str] = OncePerPass()
    results = await asyncio.gather(*(once.get("u", fetch) for _ in range(5)))
    assert results == ["body"] * 5
    assert await once.get("u", fetch) == "body"
    assert calls == 1


async def test_a_result_not_kept_is_fetched_again_later() -> None:
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return calls

    once: OncePerPass[int] = OncePerPass(keep=lambda size: size > 100)
    assert await once.get("u", fetch) == 1
    assert await once.get("u", fetch) == 2


async def test_a_failure_is_raised_to_every_waiter_and_not_remembered() -> None:
    attempts = 0

    async def fetch() -> int:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0)
        if attempts == 1:
            raise RuntimeError("boom")
        return 7

    once: OncePerPass[int] = OncePerPass()
    with pytest.raises(RuntimeError):
        await once.get("u", fetch)
    assert await once.get("u", fetch) == 7


async def test_only_the_most_recent_results_are_kept() -> None:
    calls: list[str] = []

    async def fetch(key: str) -> str:
        calls.append(key)
        await asyncio.sleep(0)
        return key

    once: OncePerPass[str] = OncePerPass(max_kept=2)
    for key in ("a", "b", "c", "c", "b", "a"):
        await once.get(key, lambda key=key: fetch(key))
    assert calls == ["a", "b", "c", "a"]  # "a" was forgotten when "c" came
