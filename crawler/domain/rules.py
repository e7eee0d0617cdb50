"""The catalogue of conformance rules: each rule's id, severity and cited section, defined once.

Findings are always made through a rule here, so `docs/conformance.md` and the code cannot
drift apart: a test checks that every rule is documented there.
"""

from __future__ import annotations

from crawler.domain.findings import Rule, Severity

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

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
