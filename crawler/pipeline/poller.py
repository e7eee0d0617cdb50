"""Poll one metadata URL: fetch it (retrying transient failures), interpret what came back,
and settle the status it leaves the server in."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from crawler.domain import rules
from crawler.domain.availability import is_transient, settle
from crawler.domain.fetching import FetchResult
from crawler.domain.findings import Finding
from crawler.http.fetch import Fetcher
from crawler.pipeline.interpret import (
    CrawlTarget,
    Interpretation,
    interpret,
    migration_findings,
)
from crawler.pipeline.poll import Poll
from crawler.settings import Settings
from storage.repositories.servers import ServerState


class Poller:
    def __init__(self, fetcher: Fetcher, settings: Settings, crawl_id: int) -> None:
        self.fetcher = fetcher
        self.settings = settings
        self.crawl_id = crawl_id
        self.flap_window = timedelta(seconds=settings.flap_window)

    async def poll(self, target: CrawlTarget, state: ServerState | None) -> Poll:
        retried, result = await self._fetch_with_retries(target.url, state)
        has_version = state is not None and state.current_version_id is not None
        meaning = interpret(
            result,
            current_valid=state.current_valid if state and has_version else None,
            max_links=self.settings.max_links_per_document,
        )
        migration = migration_findings(target.url, state.moved_to if state else None, meaning)
        settled = settle(
            state.status if state else None,
            state.last_outcome if state else None,
            meaning.status,
            result,
        )
        served_again, alternating = self._served_again(state, meaning, result)
        if settled.status != meaning.status or migration or alternating:
            findings = meaning.findings + migration + alternating
            meaning = replace(meaning, status=settled.status, findings=findings)
        return Poll(
            target,
            state,
            result,
            meaning,
            self.crawl_id,
            retried=retried,
            availability=settled.event,
            served_again=served_again,
        )

    async def _fetch_with_retries(
        self, url: str, state: ServerState | None
    ) -> tuple[tuple[FetchResult, ...], FetchResult]:
        """The failed attempts and the last one: a transient failure is tried again, after a
        short delay that doubles, until `retry_attempts` attempts were made; not when its
        Retry-After asks for a longer wait."""
        has_version = state is not None and state.current_version_id is not None
        failed: list[FetchResult] = []
        while True:
            result = await self.fetcher.fetch(
                url,
                etag=state.etag if state and has_version else None,
                last_modified=state.last_modified if state and has_version else None,
                migrations=True,
            )
            if not is_transient(result) or len(failed) + 1 >= self.settings.retry_attempts:
                return tuple(failed), result
            delay = self.settings.retry_backoff * 2 ** len(failed)
            if result.retry_after_s is not None and result.retry_after_s > delay:
                return tuple(failed), result  # never sooner than asked: a later poll tries
            await asyncio.sleep(delay)
            failed.append(result)

    def _served_again(
        self, state: ServerState | None, meaning: Interpretation, fetched: FetchResult
    ) -> tuple[int | None, tuple[Finding, ...]]:
        """An earlier version served again within the flap window of the current one: the
        server alternates (replicas out of sync), so no new version is made of it."""
        snap = meaning.snapshot
        if snap is None or state is None or state.current_fetched_at is None:
            return None, ()
        if fetched.started_at - state.current_fetched_at >= self.flap_window:
            return None, ()
        for version_id, sha256 in state.earlier_versions:
            if sha256 == snap.sha256 and sha256 != state.current_sha256:
                message = (
                    f"serves an earlier version (sha256 {sha256[:12]}…) again, less than "
                    f"{self.flap_window} after version {state.current_version} replaced it: "
                    "replicas out of sync? No new version is recorded"
                )
                finding = rules.SERVER_ALTERNATING.finding(fetched.final_url, "", message)
                return version_id, (finding,)
        return None, ()
