"""The command line: parse arguments, call the runtime, render the result. Nothing else."""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import re
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import orjson
import typer

from crawler import heap
from crawler.cliopts import remember_root_flags, setting_parameters, with_settings
from crawler.settings import ConfigurationError, Settings

T = TypeVar("T")

app = typer.Typer(
    name="cds-crawler",
    help="Discover and snapshot Carbon Data Specification server metadata.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
seeds_app = typer.Typer(help="Operators: the seeds to crawl.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
app.add_typer(seeds_app, name="seeds")
app.add_typer(db_app, name="db")
events_app = typer.Typer(help="Change events: list them, deliver them to the sinks.")
app.add_typer(events_app, name="events")

JSON_OPTION = typer.Option(False, "--json", help="Print JSON only (no colour, no progress).")
EXIT_USAGE = 2
EXIT_FAILURE = 1


def _root(ctx: typer.Context, verbose: bool = False, **flags: Any) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    remember_root_flags(ctx, flags)


_root.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
        inspect.Parameter(
            "verbose",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
            annotation=bool,
        ),
        *setting_parameters(),
    ]
)
app.callback()(_root)


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    typer.echo(f"cds-crawler: {message}", err=True)
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def run(settings: Settings, job: Callable[[Any], Awaitable[T]]) -> T:
    """Run `job(engine)` on an up-to-date database; storage failures exit 1 with a message."""
    from crawler.bootstrap import open_database
    from storage.errors import StorageError

    async def main() -> T:
        async with open_database(settings) as engine:
            return await job(engine)

    try:
        return run_loop(main())
    except StorageError as exc:
        fail(str(exc))


def run_loop(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` to completion on uvloop where it is installed (it cuts a crawl's CPU by
    about a tenth), else asyncio; start-up is over by then (`heap.settle`)."""
    heap.settle()
    try:
        import uvloop
    except ImportError:
        return asyncio.run(work)
    return uvloop.run(work)


def read(settings: Settings, query: Callable[[Any], T]) -> T:
    """Run `query(reader)` on the plain-driver reader (fast start-up); exit 1 on failure."""
    from storage.errors import StorageError
    from storage.reader import open_reader

    heap.settle()
    try:
        with open_reader(settings.database_url) as reader:
            return query(reader)
    except StorageError as exc:
        fail(str(exc))


def main() -> None:
    heap.defer_collection()
    try:
        app()
    except ConfigurationError as exc:
        typer.echo(f"cds-crawler: {exc}", err=True)
        sys.exit(EXIT_USAGE)


# --- seeds (operators) -------------------------------------------------------------------


def _targets_or_exit(
    raw: list[str], *, lists: bool = False, outcome: str = "nothing was stored"
) -> list[Any]:
    from crawler.domain.targets import InvalidTarget, normalise_list_url, normalise_target

    normalise = normalise_list_url if lists else normalise_target
    return _every_or_exit(raw, normalise, InvalidTarget, f"invalid target(s), {outcome}", True)


def _tags_or_exit(raw: list[str]) -> tuple[str, ...]:
    from crawler.domain.tags import InvalidTag, normalise_tag

    tags = _every_or_exit(raw, normalise_tag, InvalidTag, "invalid tag(s), nothing was stored")
    return tuple(dict.fromkeys(tags))


def _every_or_exit(
    raw: list[str],
    normalise: Callable[[str], T],
    refusal: type[ValueError],
    heading: str,
    quote_input: bool = False,
) -> list[T]:
    """Every item normalised; or exit 2 listing every refused one under `heading`."""
    normalised, errors = [], []
    for item in raw:
        try:
            normalised.append(normalise(item))
        except refusal as exc:
            errors.append(f"{item[:80]!r}: {exc}" if quote_input else str(exc))
    if errors:
        fail(f"{heading}:\n  " + "\n  ".join(errors), EXIT_USAGE)
    return normalised


def _store_seeds(
    settings: Settings, entries: list[Any], source: str, kind: str = "metadata"
) -> list[bool]:
    from storage.repositories import seeds

    new = [
        seeds.NewSeed(e.target.url, e.target.given, tuple(e.tags), source, kind) for e in entries
    ]

    async def job(engine: Any) -> list[bool]:
        from datetime import UTC, datetime

        async with engine.begin() as conn:
            return await seeds.add(conn, new, datetime.now(UTC))

    return run(settings, job)


def _report_added(entries: list[Any], added: list[bool]) -> None:
    for entry, is_new in zip(entries, added, strict=True):
        note = "added" if is_new else "already a seed"
        typer.echo(f"{note}: {entry.target.url}", err=True)


@seeds_app.command("add")
@with_settings
def seeds_add(
    settings: Settings,
    targets: list[str] = typer.Argument(None, help="Domains, origins or metadata URLs."),
    tag: list[str] = typer.Option([], "--tag", help="Tag the seeds (repeatable)."),
    seed_lists: list[str] = typer.Option(
        [], "--list", help="URL of a remote seed list, re-read on every pass (repeatable)."
    ),
) -> None:
    """Add seeds: a domain or origin becomes its well-known metadata URL."""
    from crawler.domain.seedlist import SeedEntry

    if not targets and not seed_lists:
        fail("give at least one TARGET or --list URL; nothing was stored", EXIT_USAGE)
    tags = _tags_or_exit(tag)
    entries = [SeedEntry(t, tags) for t in _targets_or_exit(targets or [])]
    lists = [SeedEntry(t, tags) for t in _targets_or_exit(seed_lists, lists=True)]
    _report_added(entries, _store_seeds(settings, entries, "cli"))
    _report_added(lists, _store_seeds(settings, lists, "cli", kind="list"))


@seeds_app.command("import")
@with_settings
def seeds_import(
    settings: Settings,
    file: Path = typer.Argument(..., help="Text (one target per line), CSV or JSON file."),
    tag: list[str] = typer.Option([], "--tag", help="Tag every imported seed (repeatable)."),
) -> None:
    """Import seeds from a file; if any entry is invalid, nothing is stored."""
    from crawler.domain.seedlist import SeedEntry, detect_format, parse_seed_list

    tags = _tags_or_exit(tag)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}", EXIT_USAGE)
    parsed = parse_seed_list(text, detect_format(file.name, text))
    if parsed.errors:
        fail(f"{file}: nothing was stored:\n  " + "\n  ".join(parsed.errors), EXIT_USAGE)
    entries = [SeedEntry(e.target, tuple(dict.fromkeys((*e.tags, *tags)))) for e in parsed.entries]
    added = _store_seeds(settings, entries, f"file:{file.name}")
    typer.echo(f"{sum(added)} added, {len(added) - sum(added)} already seeds", err=True)


@seeds_app.command("list")
@with_settings
def seeds_list(settings: Settings, as_json: bool = JSON_OPTION) -> None:
    """List the seeds."""
    from storage.readmodel import list_seeds

    rows = read(settings, list_seeds)
    if as_json:
        print_json(rows)
        return
    from crawler.render import seeds_table

    seeds_table(rows)


@seeds_app.command("remove")
@with_settings
def seeds_remove(
    settings: Settings, targets: list[str] = typer.Argument(..., help="Seeds to remove.")
) -> None:
    """Remove seeds or seed lists (the servers found from them and their history stay);
    if any target is not a seed, nothing is removed."""
    from contextlib import suppress

    from crawler.domain.targets import InvalidTarget, normalise_list_url
    from storage.repositories import seeds

    # A seed list keeps its own path: "https://h/" is the list at "/", not the well-known URL.
    urls_of: dict[str, set[str]] = {}
    valid = _targets_or_exit(targets, outcome="nothing was removed")
    for raw, target in zip(targets, valid, strict=True):
        urls = urls_of.setdefault(target.url, {target.url})
        with suppress(InvalidTarget):
            urls.add(normalise_list_url(raw).url)

    async def job(engine: Any) -> list[str]:
        async with engine.connect() as conn, conn.begin() as transaction:
            every_url = sorted(set().union(*urls_of.values()))
            removed = {url: await seeds.remove(conn, url) for url in every_url}
            missing = [
                target_url
                for target_url, urls in urls_of.items()
                if not any(removed[url] for url in urls)
            ]
            if missing:
                await transaction.rollback()
            return missing

    missing = run(settings, job)
    if missing:
        fail(f"not a seed: {', '.join(missing)}; nothing was removed", EXIT_USAGE)


# --- crawling (aggregators) --------------------------------------------------------------


@app.command()
@with_settings
def crawl(
    settings: Settings,
    as_json: bool = JSON_OPTION,
    seed: list[str] = typer.Option([], "--seed", help="Crawl only these targets (repeatable)."),
) -> None:
    """One pass over the seeds; exits 0 when the pass completed, even if servers failed."""
    from crawler.pipeline.crawl import crawl as crawl_pass

    only = _targets_or_exit(seed, outcome="nothing was crawled") if seed else None
    with _progress_bar(enabled=not as_json and sys.stderr.isatty()) as progress:
        summary = run(
            settings, lambda engine: crawl_pass(settings, engine, only=only, progress=progress)
        )
    if as_json:
        print_json(summary.to_json())
        return
    from crawler.render import crawl_summary

    crawl_summary(summary.to_json())


@app.command("run")
@with_settings
def run_daemon(settings: Settings) -> None:
    """The daemon: polls every target on its schedule, reads seed lists, delivers events;
    stops cleanly on SIGTERM or SIGINT."""
    from crawler.daemon.exclusive import AlreadyRunning, sole_daemon
    from crawler.daemon.logs import configure
    from crawler.daemon.service import Daemon

    configure()
    try:
        with sole_daemon(settings.database_url):
            run(settings, lambda engine: Daemon(settings, engine).run())
    except AlreadyRunning as exc:
        fail(str(exc))


def _progress_bar(*, enabled: bool) -> AbstractContextManager[Callable[[int, int], None] | None]:
    """A progress bar on a terminal; nothing (and no rich import) otherwise."""
    if not enabled:
        return nullcontext()
    from crawler.render import crawl_progress

    return crawl_progress()


@app.command()
@with_settings
def validate(
    settings: Settings,
    url: str = typer.Argument(..., help="Metadata URL (or domain) to check."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Fetch one live metadata URL and print its conformance findings; stores nothing.

    Exits 1 when there is an error-level finding, 0 otherwise.
    """
    from crawler.pipeline.validate import validate_url

    [target] = _targets_or_exit([url], outcome="nothing was fetched")
    report = run_loop(validate_url(settings, target.url))
    if as_json:
        print_json(report.to_json())
    else:
        from crawler.render import validation_report

        validation_report(report.to_json())
    if report.has_errors:
        raise typer.Exit(EXIT_FAILURE)


# --- reading (analysts) ------------------------------------------------------------------


@app.command()
@with_settings
def servers(settings: Settings, as_json: bool = JSON_OPTION) -> None:
    """Every known metadata URL with its status."""
    from storage.readmodel import list_servers

    rows = read(settings, list_servers)
    if as_json:
        print_json(rows)
        return
    from crawler.render import servers_table

    servers_table(rows)


def _lookup_keys(url: str) -> list[str]:
    from crawler.domain.targets import InvalidTarget, normalise_target

    try:
        return list(dict.fromkeys([url, normalise_target(url).url]))
    except InvalidTarget:
        return [url]


@app.command()
@with_settings
def show(
    settings: Settings,
    url: str = typer.Argument(..., help="Metadata URL (or domain) of the server."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The current version of one server: document, findings, provenance."""
    from storage.readmodel import show_server

    detail = read(settings, lambda reader: show_server(reader, _lookup_keys(url)))
    if detail is None:
        fail(f"no server known as {url}")
    if as_json:
        print_json(detail)
        return
    from crawler.render import server_detail

    server_detail(detail)


@app.command()
@with_settings
def history(
    settings: Settings,
    url: str = typer.Argument(..., help="Metadata URL (or domain) of the server."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Every version of one server, newest first, with what changed."""
    from storage.readmodel import server_history

    versions = read(settings, lambda reader: server_history(reader, _lookup_keys(url)))
    if versions is None:
        fail(f"no server known as {url}")
    if as_json:
        print_json(versions)
        return
    from crawler.render import history_table

    history_table(url, versions)


@app.command()
@with_settings
def coverage(
    settings: Settings,
    at: str = typer.Option(
        ..., "--at", metavar="LAT,LON", help="A point in WGS 84, latitude first: 45.5,-122.6"
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        metavar="DATE",
        help="Answer from the history as of a date (its end, UTC) or an RFC 3339 date-time.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """The coverage entries whose territory contains a point, now or as of a past date."""
    lat, lon = _point(at)
    moment = _moment(as_of) if as_of is not None else None
    from storage.coverage_query import covering_point
    from storage.territory_index import TerritoryIndex

    entries = read(
        settings, lambda reader: covering_point(reader, lat, lon, moment, TerritoryIndex())
    )
    if as_json:
        print_json(entries)
        return
    from crawler.render import console, coverage_table

    when = f" as of {as_of}" if as_of is not None else ""
    if not entries:
        console.print(f"no territory contained {lat},{lon}{when}")
    coverage_table(entries, title=f"entries covering {lat},{lon}{when}")


def _moment(text: str) -> datetime:
    from crawler.api.params import BadRequest, as_of

    try:
        moment = as_of(text)
    except BadRequest as exc:
        fail(f"--as-of: {exc}", EXIT_USAGE)
    assert moment is not None
    return moment


def _point(text: str) -> tuple[float, float]:
    """LAT,LON as two finite numbers within WGS 84's ranges; a usage error otherwise."""
    parts = text.split(",")
    try:
        lat, lon = (float(part) for part in parts) if len(parts) == 2 else (math.nan, math.nan)
    except ValueError:
        lat = lon = math.nan
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        fail(
            f"--at {text!r} is not a point: expected LAT,LON in degrees, latitude -90..90 "
            "first, then longitude -180..180 (for example 45.52,-122.68)",
            EXIT_USAGE,
        )
    return lat, lon


@events_app.callback(invoke_without_command=True)
@with_settings
def events(
    ctx: typer.Context,
    settings: Settings,
    after: str = typer.Option(
        "0",
        "--after",
        metavar="ID",
        help="Only events after this one: its CloudEvents id, or its sequence.",
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="At most this many events (default: all of them)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Change events in the order they happened (with --json: one CloudEvent per line)."""
    if ctx.invoked_subcommand is not None:
        return
    from storage.readmodel import event_pages

    found: list[dict[str, Any]] = []

    def emit(reader: Any) -> None:
        for page in event_pages(reader, _event_sequence(reader, after), limit):
            if as_json:
                sys.stdout.buffer.write(b"".join(orjson.dumps(event) + b"\n" for event in page))
                sys.stdout.flush()
            else:
                found.extend(page)

    read(settings, emit)
    if not as_json:
        from crawler.render import events_table

        events_table(found)


MAX_SEQUENCE = 2**63 - 1  # the largest id either database stores


def _event_sequence(reader: Any, after: str) -> int:
    """The sequence `--after` names: a sequence as given, or the stored event's with that id."""
    from storage.readmodel import event_sequence

    if re.fullmatch(r"[0-9]+", after):
        if int(after) > MAX_SEQUENCE:
            fail(f"--after {after}: no sequence is above {MAX_SEQUENCE}", EXIT_USAGE)
        return int(after)
    sequence = event_sequence(reader, after)
    if sequence is None:
        fail(
            f"--after {after!r}: no stored event has this id (give an event's id or its sequence)",
            EXIT_USAGE,
        )
    return sequence


@events_app.command("deliver")
@with_settings
def events_deliver(settings: Settings, as_json: bool = JSON_OPTION) -> None:
    """Deliver every pending event to every configured sink once, then exit."""
    from crawler.delivery.deliver import deliver_pending
    from crawler.delivery.sinks import configured_sinks

    sinks = configured_sinks(settings)
    if not sinks:
        fail("no event sinks are configured ([[sinks]] tables in the TOML file)", EXIT_USAGE)
    _stdout_is_free_for_json(sinks, as_json)

    async def job(engine: Any) -> dict[str, Any]:
        try:
            return await deliver_pending(engine, sinks)
        finally:
            for sink in sinks:
                await sink.close()

    reports = run(settings, job)
    if as_json:
        print_json({name: report.to_json() for name, report in reports.items()})
        return
    for name, report in reports.items():
        line = f"{name}: {report.delivered} delivered, {report.dead_lettered} dead-lettered"
        typer.echo(f"{line}, {report.state}" + (f" ({report.error})" if report.error else ""))


def _stdout_is_free_for_json(sinks: list[Any], as_json: bool) -> None:
    """Exit 2 when a sink writes events to stdout, where --json would write its report too."""
    from crawler.delivery.sinks import STDOUT_SINK

    if as_json and any(sink.name == STDOUT_SINK for sink in sinks):
        fail(
            f"the sink {STDOUT_SINK} writes events to stdout, where --json writes its report: "
            "drop --json, or give the sink a file",
            EXIT_USAGE,
        )


@events_app.command("redeliver")
@with_settings
def events_redeliver(
    settings: Settings,
    sink_name: str | None = typer.Option(
        None, "--sink", help="Only this sink (its name as `events deliver` prints it)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Deliver the dead-lettered events again (those delivered are no longer dead letters)."""
    from crawler.delivery.deliver import redeliver
    from crawler.delivery.sinks import configured_sinks

    sinks = [s for s in configured_sinks(settings) if sink_name in (None, s.name)]
    if not sinks:
        fail(f"no configured sink is named {sink_name!r}", EXIT_USAGE)
    _stdout_is_free_for_json(sinks, as_json)

    async def job(engine: Any) -> dict[str, int]:
        try:
            return {sink.name: await redeliver(engine, sink) for sink in sinks}
        finally:
            for sink in sinks:
                await sink.close()

    counts = run(settings, job)
    if as_json:
        print_json(counts)
        return
    for name, count in counts.items():
        typer.echo(f"{name}: {count} dead letters delivered")


# --- serving and exporting (analysts, other crawlers) --------------------------------------


@app.command()
@with_settings
def serve(
    settings: Settings,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", min=0, max=65535, help="Port to listen on."),
) -> None:
    """The read-only HTTP API under /v1 (OpenAPI at /openapi.json, docs at /docs) and the
    coverage map at /."""
    import uvicorn

    from crawler.api.app import create_app
    from storage.errors import StorageError
    from storage.reader_pool import ReaderPool

    pool = ReaderPool(settings.database_url)
    try:
        pool.open()
    except StorageError as exc:
        fail(str(exc))
    heap.settle()
    # An event stream never ends by itself: a stop waits this long for its clients, no longer.
    uvicorn.run(
        create_app(settings, pool),
        host=host,
        port=port,
        log_level="info",
        timeout_graceful_shutdown=5,
    )


class ExportFormat(StrEnum):
    geojson = "geojson"
    csv = "csv"


class CsvTable(StrEnum):
    servers = "servers"
    entries = "entries"


@app.command()
@with_settings
def export(
    settings: Settings,
    fmt: ExportFormat = typer.Argument(..., metavar="geojson|csv", help="What to write."),
    out: Path | None = typer.Option(
        None, "--out", help="File to write (replaced whole, only once complete); default stdout."
    ),
    table: CsvTable = typer.Option(CsvTable.servers, "--table", help="csv: which table."),
) -> None:
    """Current territories as a GeoJSON FeatureCollection, or servers or entries as CSV."""
    from storage.coverage_query import EntryFilters
    from storage.exports import entries_csv, feature_collection, servers_csv

    def chunks(reader: Any) -> Iterator[bytes]:
        if fmt is ExportFormat.geojson:
            yield from feature_collection(reader, EntryFilters())
        else:
            yield (
                servers_csv(reader) if table is CsvTable.servers else entries_csv(reader)
            ).encode()

    if out is None:
        read(settings, lambda reader: sys.stdout.buffer.writelines(chunks(reader)))
        sys.stdout.buffer.flush()
        return
    partial = out.with_name(f".{out.name}.partial")  # renamed over `out` once complete
    try:
        with partial.open("wb") as file:
            read(settings, lambda reader: file.writelines(chunks(reader)))
        partial.replace(out)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    finally:
        partial.unlink(missing_ok=True)
    typer.echo(f"wrote {out}", err=True)


@db_app.command("upgrade")
@with_settings
def db_upgrade(settings: Settings) -> None:
    """Create or upgrade the database schema, and nothing else."""

    async def job(engine: Any) -> None:
        return None

    run(settings, job)
    typer.echo("database schema is up to date", err=True)
