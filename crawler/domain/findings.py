"""Conformance findings: what a crawl or a validation observed about one document."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Rule:
    """One checkable requirement, defined once in `crawler.domain.rules`."""

    id: str
    severity: Severity
    section: str
    summary: str

    def finding(self, url: str, pointer: str, message: str) -> Finding:
        return Finding(
            rule=self.id,
            severity=self.severity,
            url=url,
            pointer=pointer,
            section=self.section,
            message=message,
        )


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    url: str
    pointer: str
    section: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "url": self.url,
            "pointer": self.pointer,
            "section": self.section,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, value: dict[str, str]) -> Finding:
        """The finding `to_json` wrote."""
        return cls(
            rule=value["rule"],
            severity=Severity(value["severity"]),
            url=value["url"],
            pointer=value["pointer"],
            section=value["section"],
            message=value["message"],
        )


def has_errors(findings: tuple[Finding, ...] | list[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


def json_pointer(*parts: str | int) -> str:
    """RFC 6901 pointer from path parts ("" for the whole document)."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "".join("/" + p for p in escaped)
