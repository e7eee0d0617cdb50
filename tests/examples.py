"""Example documents copied from the specification drafts."""

# CDSC-WG1-01 section 7 of the current draft, verbatim: its trailing comma included.
CURRENT_DRAFT_EXAMPLE = b"""{
    "cds_metadata_version": "v1",
    "cds_metadata_url": "https://example.com/.well-known/carbon-data-spec.json",

    "created": "2022-01-01T00:00:00Z",
    "updated": "2022-06-01T00:00:00Z",

    "name": "Example Data Hub",
    "description": "%s",
    "website": "https://example.com/data-access",
    "documentation": "https://example.com/data-access/docs",
    "support": "https://example.com/developers/contact",
    "capabilities": [
        "coverage",
    ],

    "coverage": "https://static.example.com/cds-coverage.json"
}""" % (b"A fictional regional data hub that offers information about the region's utilities.",)
