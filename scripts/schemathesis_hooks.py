"""Schemathesis hooks for Patron's OpenAPI check (scripts/schemathesis.sh)."""

import re
import uuid

import schemathesis

# What the service accepts as an Idempotency-Key (HTTP trims surrounding spaces).
VALID_KEY = re.compile(r"[\x21-\x7E](?:[\x20-\x7E]{0,253}[\x21-\x7E])?\Z")


@schemathesis.hook
def map_headers(ctx, headers):
    """Each generated request is a new request, as a real client's would be: a valid
    Idempotency-Key gets a value of its own. Generated keys are short and repeat, so a creation
    would be answered with its first response (by design) after a later step deleted what it
    created, which ensure_resource_availability reads as an object gone missing. Invalid keys
    stay as generated, so their refusal is still checked; replays are tested in the Rust suite.
    """
    if headers:
        for name, value in list(headers.items()):
            if (
                name.lower() == "idempotency-key"
                and isinstance(value, str)
                and VALID_KEY.match(value)
            ):
                headers[name] = f"st-{uuid.uuid4()}"
    return headers
