"""The catalogue of conformance rules: each rule's id, severity and cited section, defined once.

Findings are always made through a rule here, so `docs/conformance.md` and the code cannot
drift apart: a test checks that every rule is documented there.
"""

from __future__ import annotations

from crawler.domain.findings import Rule, Severity

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741

# --- fetching: what happened on the wire (CDSC-WG1-01 section 3: a 200 with a JSON object) ---
HTTP_STATUS = Rule("http.status", E, "CDSC-WG1-01 3", "The server answered with an error status.")
HTTP_NOT_FOUND = Rule(
    "http.not-found", E, "CDSC-WG1-01 3.1", "Nothing is published at the metadata URL (404/410)."
)
HTTP_TIMEOUT = Rule(
    "http.timeout", E, "CDSC-WG1-01 3", "The server did not answer within the time limits."
)
HTTP_CONNECT = Rule("http.connect", E, "CDSC-WG1-01 3", "No connection could be made.")
HTTP_PROTOCOL = Rule("http.protocol", E, "RFC 9110", "The server broke the HTTP protocol.")
HTTP_TOO_LARGE = Rule(
    "http.body-too-large", E, "CDSC-WG1-01 3", "The body exceeded the configured size cap."
)
HTTP_ENCODING = Rule(
    "http.content-encoding",
    E,
    "RFC 9110 8.4",
    "The body used a content coding the crawler did not ask for or could not decode.",
)
HTTP_REDIRECT_LOOP = Rule(
    "http.redirect-loop", E, "CDSC-WG1-01 5", "Redirects led back to a URL already visited."
)
HTTP_TOO_MANY_REDIRECTS = Rule(
    "http.too-many-redirects", E, "CDSC-WG1-01 5", "More redirects than the crawler follows."
)
HTTP_BAD_REDIRECT = Rule(
    "http.bad-redirect", E, "RFC 9110 15.4", "A redirect without a usable Location header."
)
HTTP_SOFT_404 = Rule(
    "http.soft-404",
    E,
    "CDSC-WG1-01 3.1",
    "An HTML page answered with 200 at the metadata URL (a soft 404): nothing is published.",
)
ACCESS_WELL_KNOWN_RESTRICTED = Rule(
    "access.well-known-restricted",
    E,
    "CDSC-WG1-01 8.1",
    "The well-known metadata URL requires authentication (401/403); it MUST be public.",
)
ACCESS_RESTRICTED = Rule(
    "access.restricted",
    W,
    "CDSC-WG1-01 8.1",
    "A URL other than the well-known one (a linked document, listing, territory, map or OAuth "
    "metadata) requires authentication (401/403).",
)
SERVER_MOVED = Rule(
    "server.moved",
    I,
    "CDSC-WG1-01 5",
    "The metadata URL redirects to another origin: the server has migrated there.",
)
SERVER_MOVED_STATUS = Rule(
    "server.moved-status",
    W,
    "CDSC-WG1-01 5",
    "A migration redirect uses a status other than 301 Moved Permanently or 302 Found.",
)
SERVER_MIGRATION_RETARGETED = Rule(
    "server.migration-retargeted",
    W,
    "CDSC-WG1-01 5",
    "A migrated metadata URL now redirects to another target than before.",
)
SERVER_MIGRATION_ENDED = Rule(
    "server.migration-ended",
    W,
    "CDSC-WG1-01 5",
    "A migrated metadata URL no longer redirects; the redirect must stay for up to 3 years.",
)
SERVER_ALTERNATING = Rule(
    "server.alternating-versions",
    W,
    "CDSC-WG1-01 3",
    "The server serves an earlier version again soon after a newer one (replicas out of sync?).",
)
HTTP_CONTENT_TYPE = Rule(
    "http.content-type",
    W,
    "CDSC-WG1-01 3",
    "The metadata response is not labelled as JSON (application/json).",
)
NETWORK_SCHEME_REFUSED = Rule(
    "network.scheme-refused",
    E,
    "CDSC-WG1-01 3",
    "The URL's scheme is not fetched (HTTPS only, plain HTTP only when allowed).",
)
NETWORK_ADDRESS_REFUSED = Rule(
    "network.address-refused",
    E,
    "CDSC-WG1-01 8",
    "The host resolves to a non-public address and private networks are not allowed.",
)
NETWORK_DNS = Rule("network.dns", E, "CDSC-WG1-01 3", "The host name could not be resolved.")
HTTP_UNCONDITIONAL_304 = Rule(
    "http.unconditional-304",
    E,
    "RFC 9110 15.4.5",
    "304 Not Modified answered to a request that carried no validators.",
)
STORAGE_REJECTED = Rule(
    "storage.rejected",
    E,
    "RFC 8259",
    "The database refused the document (for example a NUL character, which Postgres cannot store).",
)

# --- JSON bodies: what a body must be before it is read as a document (RFC 8259) ---
JSON_NOT_UTF8 = Rule("json.not-utf8", E, "RFC 8259 8.1", "The body is not UTF-8.")
JSON_BOM = Rule(
    "json.bom",
    W,
    "RFC 8259 8.1",
    "The body starts with a UTF-8 byte order mark; it is skipped and the rest parsed.",
)
JSON_EMPTY = Rule("json.empty", E, "CDSC-WG1-01 3", "The body is empty or holds only whitespace.")
JSON_SYNTAX = Rule(
    "json.syntax", E, "RFC 8259 2", "The body is not JSON (the message gives line and column)."
)
JSON_TRAILING_COMMA = Rule(
    "json.trailing-comma",
    E,
    "RFC 8259 2",
    "A comma right before a closing ']' or '}', as in the drafts' own examples.",
)
JSON_NON_STANDARD_NUMBER = Rule(
    "json.non-standard-number",
    E,
    "RFC 8259 6",
    "NaN, Infinity or -Infinity, which are not JSON numbers.",
)
JSON_NUMBER_OUT_OF_RANGE = Rule(
    "json.number-out-of-range",
    E,
    "RFC 8259 6",
    "A number that overflows a double, or an integer of more than 4300 digits.",
)
JSON_LONE_SURROGATE = Rule(
    "json.lone-surrogate",
    E,
    "RFC 8259 8.2",
    "A \\u escape for half of a surrogate pair, which is no Unicode character.",
)
JSON_TOO_DEEP = Rule(
    "json.too-deep",
    E,
    "RFC 8259 9",
    "Arrays and objects nested deeper than the crawler accepts (64 levels by default).",
)
JSON_NOT_OBJECT = Rule(
    "json.not-object", E, "CDSC-WG1-01 3.2", "Valid JSON, but not a JSON object."
)

# --- metadata objects (CDSC-WG1-01 3.2); findings on a 2023-draft document cite that draft ---
METADATA_DRAFT_2023 = Rule(
    "metadata.draft-2023",
    W,
    "CDSC-WG1-01 3.2",
    "The document follows the 2023 draft (top-level infrastructure_types/commodity_types) "
    "and is validated against it.",
)
METADATA_REQUIRED = Rule("metadata.required", E, "CDSC-WG1-01 3.2", "A REQUIRED member is missing.")
METADATA_TYPE = Rule(
    "metadata.type",
    E,
    "CDSC-WG1-01 3.2",
    "A member or array element has the wrong JSON type (null included).",
)
METADATA_URL = Rule(
    "metadata.url",
    E,
    "CDSC-WG1-01 3.2",
    "A URL is not an absolute http(s) URL with a host, as RFC 3986 spells it.",
)
METADATA_DATETIME = Rule(
    "metadata.datetime",
    E,
    "CDSC-WG1-01 3.2",
    "A datetime is not an RFC 3339 date-time with an offset (the 2023 draft's ISO 8601 too).",
)
METADATA_VERSION = Rule(
    "metadata.version",
    W,
    "CDSC-WG1-01 3.2",
    'cds_metadata_version is not "v1"; the document is validated as v1 anyway.',
)
METADATA_COVERAGE_URL_REQUIRED = Rule(
    "metadata.coverage-url-required",
    E,
    "CDSC-WG1-01 3.2",
    "capabilities lists coverage but there is no coverage URL (2023 draft: section 3.6).",
)
METADATA_OAUTH_URL_REQUIRED = Rule(
    "metadata.oauth-url-required",
    E,
    "CDSC-WG1-02 3.1",
    "capabilities lists oauth but there is no oauth_metadata URL.",
)
METADATA_UNKNOWN_FIELD = Rule(
    "metadata.unknown-field",
    I,
    "CDSC-WG1-01 6",
    "A member no draft or known extension defines; kept as published, otherwise ignored.",
)
METADATA_UNKNOWN_VALUE = Rule(
    "metadata.unknown-value",
    I,
    "CDSC-WG1-01 3.4",
    "An enumerated string the draft does not define (2023 draft: sections 3.4-3.6); "
    "kept, otherwise ignored.",
)
METADATA_DUPLICATE_VALUE = Rule(
    "metadata.duplicate-value",
    W,
    "CDSC-WG1-01 3.2",
    "The same value appears more than once in an array.",
)

# --- links between documents (the crawl frontier) ---
METADATA_CAPABILITIES_UNION = Rule(
    "metadata.capabilities-union",
    E,
    "CDSC-WG1-01 3.2",
    "capabilities lists coverage but not every capability the coverage entries offer.",
)
METADATA_CANONICAL_URL = Rule(
    "metadata.canonical-url-differs",
    W,
    "CDSC-WG1-01 3.2",
    "cds_metadata_url names another URL than the one fetched; it is recorded as canonical.",
)
LINKS_TOO_MANY = Rule(
    "links.too-many",
    W,
    "CDSC-WG1-01 3.3",
    "More related_metadata links than the crawler follows from one document.",
)
LINKS_NOT_FOLLOWED = Rule(
    "links.not-followed",
    W,
    "CDSC-WG1-01 3.3",
    "A related_metadata URL the crawler does not follow (credentials in it, a host that is "
    "not a valid name or address); it is skipped.",
)
LINKS_TOO_DEEP = Rule(
    "links.too-deep",
    W,
    "CDSC-WG1-01 3.3",
    "related_metadata links lead further from the seeds than the crawler follows.",
)

# --- coverage listings (CDSC-WG1-01 4.1-4.7); 2023-draft entries say so in the message ---
COVERAGE_REQUIRED = Rule(
    "coverage.required",
    E,
    "CDSC-WG1-01 4.3",
    "A REQUIRED member of a coverage entry (4.3) or of the listing (4.1) is missing.",
)
COVERAGE_TYPE = Rule(
    "coverage.type",
    E,
    "CDSC-WG1-01 4.3",
    "A member, entry or array element has the wrong JSON type (null included where not allowed).",
)
COVERAGE_URL = Rule(
    "coverage.url",
    E,
    "CDSC-WG1-01 4.3",
    "A URL is not an absolute http(s) URL with a host, as RFC 3986 spells it.",
)
COVERAGE_DATETIME = Rule(
    "coverage.datetime",
    E,
    "CDSC-WG1-01 4.3",
    "A datetime is not an RFC 3339 date-time with an offset.",
)
COVERAGE_COUNTRY = Rule(
    "coverage.country",
    E,
    "CDSC-WG1-01 4.3",
    "country is not an ISO 3166-1 alpha-2 code assigned to a country (such as US).",
)
COVERAGE_MIME_TYPE = Rule(
    "coverage.mime-type",
    E,
    "CDSC-WG1-01 4.3",
    "map_content_type is not a MIME type (type/subtype, RFC 6838).",
)
COVERAGE_DUPLICATE_ID = Rule(
    "coverage.duplicate-id",
    E,
    "CDSC-WG1-01 4.3",
    "An entry id is listed again, on the same page or a later one; the first entry is kept.",
)
COVERAGE_CAPABILITY_COVERAGE = Rule(
    "coverage.coverage-capability",
    E,
    "CDSC-WG1-01 4.3",
    "An entry's capabilities include coverage, which they MUST NOT.",
)
COVERAGE_MAP_REQUIRED = Rule(
    "coverage.map-required",
    E,
    "CDSC-WG1-01 4.3",
    "A geographic entry has neither map_resource nor geojson_resource.",
)
COVERAGE_MAP_CONTENT_TYPE_REQUIRED = Rule(
    "coverage.map-content-type-required",
    E,
    "CDSC-WG1-01 4.3",
    "An entry has a map_resource but no map_content_type.",
)
COVERAGE_DRAFT_2023_ENTRY = Rule(
    "coverage.draft-2023-entry",
    W,
    "CDSC-WG1-01 4.3",
    "An entry follows the 2023 draft (a *_service_territory type); it is validated against "
    "that draft and read as a geographic entry.",
)
COVERAGE_UNKNOWN_FIELD = Rule(
    "coverage.unknown-field",
    I,
    "CDSC-WG1-01 6",
    "A member of a listing or entry that no draft defines; kept as published, otherwise ignored.",
)
COVERAGE_UNKNOWN_VALUE = Rule(
    "coverage.unknown-value",
    I,
    "CDSC-WG1-01 4.4",
    "An enumerated string the draft does not define; kept, otherwise ignored.",
)
COVERAGE_DUPLICATE_VALUE = Rule(
    "coverage.duplicate-value",
    W,
    "CDSC-WG1-01 4.3",
    "The same value appears more than once in an entry's array.",
)

# --- coverage listings as a whole (paging through them) ---
COVERAGE_UNAVAILABLE = Rule(
    "coverage.unavailable",
    E,
    "CDSC-WG1-01 4",
    "A page of the coverage listing could not be fetched; the listing was read only in part.",
)
COVERAGE_PAGE_LOOP = Rule(
    "coverage.page-loop",
    W,
    "CDSC-WG1-01 4.1",
    "A `next` link leads back to a page already read; the listing ends there.",
)
COVERAGE_TOO_MANY_PAGES = Rule(
    "coverage.too-many-pages",
    W,
    "CDSC-WG1-01 4.1",
    "The listing has more pages than the crawler reads in one pass.",
)
COVERAGE_TOO_MANY_ENTRIES = Rule(
    "coverage.too-many-entries",
    W,
    "CDSC-WG1-01 4.1",
    "The listing has more entries than the crawler reads in one pass.",
)
COVERAGE_ORDER = Rule(
    "coverage.order",
    E,
    "CDSC-WG1-01 4.1",
    "Entries are not in reverse chronological order of `updated` (newest first).",
)

ROBOTS_DISALLOWED = Rule(
    "robots.disallowed",
    W,
    "RFC 9309 2.2.2",
    "The origin's robots.txt disallows the URL for the crawler's user agent; it is not fetched.",
)

ROBOTS_UNREACHABLE = Rule(
    "robots.unreachable",
    E,
    "RFC 9309 2.3.1.4",
    "The origin's robots.txt could not be read (a 5xx or a network failure), so nothing is "
    "fetched from it.",
)

COVERAGE_IDS_FILTER = Rule(
    "coverage.ids-filter",
    W,
    "CDSC-WG1-01 4.2",
    "The listing does not honour the `ids` filter: it fails, or answers with entries not "
    "asked for, or without entries it lists.",
)

# --- OAuth authorization server metadata (CDSC-WG1-02 3, RFC 8414) ---
OAUTH_REQUIRED = Rule(
    "oauth.required",
    E,
    "CDSC-WG1-02 3.2",
    "A REQUIRED member is missing, or one required by another member's value.",
)
OAUTH_TYPE = Rule(
    "oauth.type",
    E,
    "CDSC-WG1-02 3.2",
    "The document, a member or an array element has the wrong JSON type (null included).",
)
OAUTH_URL = Rule(
    "oauth.url",
    E,
    "CDSC-WG1-02 3.2",
    "A URL is not an absolute http(s) URL with a host, as RFC 3986 spells it.",
)
OAUTH_ENDPOINT_HTTPS = Rule(
    "oauth.endpoint-https",
    E,
    "CDSC-WG1-02 13",
    "An endpoint clients send credentials or tokens to is a plain http URL, not https.",
)
OAUTH_ISSUER = Rule(
    "oauth.issuer",
    E,
    "RFC 8414 2",
    "issuer is not an https URL without query and fragment.",
)
OAUTH_ISSUER_MISMATCH = Rule(
    "oauth.issuer-mismatch",
    E,
    "RFC 8414 3.3",
    "issuer differs from the issuer the well-known URL was built from; the document "
    "MUST NOT be used.",
)
OAUTH_VERSION = Rule(
    "oauth.version",
    W,
    "CDSC-WG1-02 3.2",
    'cds_oauth_version is not "v1"; the document is validated as v1 anyway.',
)
OAUTH_ADMIN_SCOPES = Rule(
    "oauth.admin-scopes",
    E,
    "CDSC-WG1-02 3.3",
    "scopes_supported lacks client_admin or grant_admin.",
)
OAUTH_SCOPE_DESCRIPTIONS = Rule(
    "oauth.scope-descriptions",
    E,
    "CDSC-WG1-02 3.2",
    "A scope in scopes_supported has no description in cds_scope_descriptions, or a "
    "description is of a scope scopes_supported does not list.",
)
OAUTH_KEY_MISMATCH = Rule(
    "oauth.key-mismatch",
    E,
    "CDSC-WG1-02 3.4",
    "A description's id differs from its key in cds_scope_descriptions or cds_registration_fields.",
)
OAUTH_UNION = Rule(
    "oauth.union",
    E,
    "CDSC-WG1-02 3.2",
    "A list is not the union of the scope descriptions' lists, or "
    "authorization_details_types_supported differs from scopes_supported.",
)
OAUTH_EMPTY = Rule(
    "oauth.empty",
    E,
    "CDSC-WG1-02 3.4",
    "An array that MUST hold at least one element is empty.",
)
OAUTH_PKCE = Rule(
    "oauth.pkce",
    E,
    "CDSC-WG1-02 3.4",
    "A scope's code_challenge_methods_supported breaks PKCE: without S256 or with plain "
    "for authorization_code, not empty without it.",
)
OAUTH_DEFINED_SCOPE = Rule(
    "oauth.defined-scope",
    E,
    "CDSC-WG1-02 3.3.1",
    "A scope the specification defines is not configured as it MUST be.",
)
OAUTH_UNDEFINED_REGISTRATION_FIELD = Rule(
    "oauth.undefined-registration-field",
    E,
    "CDSC-WG1-02 3.4",
    "A scope lists a registration field that cds_registration_fields does not describe.",
)
OAUTH_FIELD_NAME = Rule(
    "oauth.field-name",
    E,
    "CDSC-WG1-02 3.5",
    "A registration field's field_name does not start with cds_.",
)
OAUTH_ENUMERATION = Rule(
    "oauth.enumeration",
    E,
    "CDSC-WG1-02 3.6",
    "A type or format outside the enumeration the specification lists.",
)
OAUTH_EXCLUDED_MEMBER = Rule(
    "oauth.excluded-member",
    E,
    "CDSC-WG1-02 3.8",
    "An authorization details field includes a member its other values exclude.",
)
OAUTH_UNKNOWN_FIELD = Rule(
    "oauth.unknown-field",
    I,
    "RFC 8414 2",
    "A member no known specification defines; kept as published, otherwise ignored.",
)

# --- territories: GeoJSON resources of coverage entries (RFC 7946) ---
TERRITORY_NOT_GEOJSON = Rule(
    "territory.not-geojson",
    E,
    "RFC 7946 3",
    "The geojson_resource document is not a GeoJSON object; no territory is read.",
)
TERRITORY_TYPE = Rule(
    "territory.type",
    E,
    "RFC 7946 3",
    "A member or element has the wrong JSON type or an unexpected GeoJSON `type`; skipped.",
)
TERRITORY_COORDINATES = Rule(
    "territory.coordinates",
    E,
    "RFC 7946 3.1.6",
    "A polygon's coordinates are malformed (a position, a ring too short or not closed); "
    "the polygon is skipped.",
)
TERRITORY_OUT_OF_RANGE = Rule(
    "territory.out-of-range",
    E,
    "RFC 7946 4",
    "Positions lie outside WGS 84 longitude/latitude ranges; no territory is read.",
)
TERRITORY_NOT_AN_AREA = Rule(
    "territory.not-an-area",
    W,
    "CDSC-WG1-01 4.3",
    "A geometry that is not an area (a point, a line, null or empty) is skipped.",
)
TERRITORY_EMPTY = Rule(
    "territory.empty",
    E,
    "CDSC-WG1-01 4.3",
    "The GeoJSON document maps no area that could be read; no territory.",
)
TERRITORY_INVALID_GEOMETRY = Rule(
    "territory.invalid-geometry",
    W,
    "RFC 7946 3.1.6",
    "A polygon is not valid (self-intersecting, for example); it is repaired.",
)
TERRITORY_ANTIMERIDIAN = Rule(
    "territory.antimeridian",
    W,
    "RFC 7946 3.1.9",
    "A polygon crosses the antimeridian without being cut there; it is cut.",
)
TERRITORY_CRS = Rule(
    "territory.crs",
    W,
    "RFC 7946 4",
    "A `crs` member, which RFC 7946 removed; coordinates are read as WGS 84 anyway.",
)
TERRITORY_TOO_DEEP = Rule(
    "territory.too-deep",
    E,
    "RFC 7946 3.1.8",
    "GeometryCollections nested deeper than the crawler reads; the deeper ones are skipped.",
)

# --- resources linked from coverage entries and metadata documents, as the crawl reads them ---
TERRITORY_UNAVAILABLE = Rule(
    "territory.unavailable",
    E,
    "CDSC-WG1-01 4.3",
    "An entry's geojson_resource could not be fetched; its stored territory, if any, stands.",
)
MAP_UNREACHABLE = Rule(
    "map.unreachable",
    W,
    "CDSC-WG1-01 4.3",
    "An entry's map_resource could not be fetched.",
)
MAP_CONTENT_TYPE = Rule(
    "map.content-type",
    W,
    "CDSC-WG1-01 4.3",
    "An entry's map_resource is served with another Content-Type than its map_content_type.",
)
COVERAGE_AUTHORITATIVE_OVERLAP = Rule(
    "coverage.authoritative-overlap",
    W,
    "CDSC-WG1-01 4.5",
    "Two servers' entries both claim to be authoritative for a commodity in the same area.",
)
OAUTH_UNAVAILABLE = Rule(
    "oauth.unavailable",
    E,
    "CDSC-WG1-02 3.1",
    "The oauth_metadata URL could not be fetched.",
)
OAUTH_WELL_KNOWN_MISSING = Rule(
    "oauth.well-known-missing",
    W,
    "RFC 8414 3",
    "oauth is listed without oauth_metadata, and the RFC 8414 location has nothing usable.",
)
