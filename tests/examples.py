"""Example documents: copied from the specification drafts, or written to conform to them."""

from typing import Any

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

OAUTH_ISSUER = "https://auth.example.com"
OAUTH_DOCS = "https://example.com/docs"


def admin_scope(scope_id: str, name: str, description: str) -> dict[str, Any]:
    return {
        "id": scope_id,
        "name": name,
        "description": description,
        "documentation": f"{OAUTH_DOCS}/{scope_id}",
        "registration_requirements": [],
        "registration_optional": [],
        "response_types_supported": [],
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": [],
        "coverages_supported": [],
        "authorization_details_fields_supported": [],
    }


def fixed_details_field(field_id: str, name: str, description: str) -> dict[str, Any]:
    return {
        "id": field_id,
        "name": name,
        "description": description,
        "documentation": f"{OAUTH_DOCS}/{field_id}",
        "format": "string",
        "is_required": True,
    }


def oauth_metadata_example() -> dict[str, Any]:
    """An OAuth authorization server metadata document (CDSC-WG1-02 3) that conforms fully:
    the two admin scopes and one data scope."""
    grant_admin = admin_scope(
        "grant_admin",
        "Grant Admin",
        "This scope grants administrative access to previously created Grants.",
    )
    grant_admin["authorization_details_fields_supported"] = [
        fixed_details_field(
            "client_id",
            "Client object identifier",
            "The Client object identifier for which the Grant is issued.",
        ),
        fixed_details_field(
            "grant_id",
            "Grant identifier",
            "The Grant identifier for which the returned access_token will be given access.",
        ),
    ]
    usage = {
        "id": "usage_data",
        "name": "Usage data",
        "description": "Historical interval usage for a customer's meters.",
        "documentation": f"{OAUTH_DOCS}/usage_data",
        "registration_requirements": ["company_logo", "review"],
        "registration_optional": [],
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "coverages_supported": ["dge_elec_west"],
        "authorization_details_fields_supported": [
            {
                "id": "interval",
                "name": "Interval length",
                "description": "The length of the usage intervals returned.",
                "documentation": f"{OAUTH_DOCS}/interval",
                "format": "choice",
                "is_required": False,
                "default": "hourly",
                "choices": [
                    {
                        "id": "hourly",
                        "name": "Hourly",
                        "description": "One value per hour.",
                        "documentation": f"{OAUTH_DOCS}/interval#hourly",
                    },
                    {
                        "id": "daily",
                        "name": "Daily",
                        "description": "One value per day.",
                        "documentation": f"{OAUTH_DOCS}/interval#daily",
                    },
                ],
            },
            {
                "id": "history",
                "name": "History",
                "description": "How far back usage is shared.",
                "documentation": f"{OAUTH_DOCS}/history",
                "format": "relative_or_absolute_date",
                "is_required": True,
                "relative_date_limit": 24,
            },
        ],
    }
    return {
        "issuer": OAUTH_ISSUER,
        "authorization_endpoint": f"{OAUTH_ISSUER}/authorize",
        "token_endpoint": f"{OAUTH_ISSUER}/token",
        "jwks_uri": f"{OAUTH_ISSUER}/jwks.json",
        "registration_endpoint": f"{OAUTH_ISSUER}/register",
        "scopes_supported": ["client_admin", "grant_admin", "usage_data"],
        "response_types_supported": ["code"],
        "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "service_documentation": OAUTH_DOCS,
        "op_policy_uri": "https://example.com/policy",
        "op_tos_uri": "https://example.com/terms",
        "revocation_endpoint": f"{OAUTH_ISSUER}/revoke",
        "introspection_endpoint": f"{OAUTH_ISSUER}/introspect",
        "code_challenge_methods_supported": ["S256"],
        "authorization_details_types_supported": ["client_admin", "grant_admin", "usage_data"],
        "pushed_authorization_request_endpoint": f"{OAUTH_ISSUER}/par",
        "require_pushed_authorization_requests": True,
        "cds_oauth_version": "v1",
        "cds_human_registration": "https://example.com/register",
        "cds_clients_api": f"{OAUTH_ISSUER}/api/clients",
        "cds_messages_api": f"{OAUTH_ISSUER}/api/messages",
        "cds_credentials_api": f"{OAUTH_ISSUER}/api/credentials",
        "cds_grants_api": f"{OAUTH_ISSUER}/api/grants",
        "cds_test_accounts": f"{OAUTH_DOCS}/test-accounts",
        "cds_scope_descriptions": {
            "client_admin": admin_scope(
                "client_admin",
                "Client Admin",
                "This scope grants administrative access to the Client management APIs.",
            ),
            "grant_admin": grant_admin,
            "usage_data": usage,
        },
        "cds_registration_fields": {
            "company_logo": {
                "id": "company_logo",
                "type": "registration_field",
                "description": "Your company's logo, shown to customers.",
                "documentation": f"{OAUTH_DOCS}/logo",
                "field_name": "cds_company_logo",
                "format": "image",
                "max_size": 100_000,
            },
            "review": {
                "id": "review",
                "type": "internal_review",
                "description": "We review every registration before production use.",
                "documentation": f"{OAUTH_DOCS}/review",
            },
        },
    }
