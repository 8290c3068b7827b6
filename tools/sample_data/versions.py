"""The server's version records and each version's table list."""

from __future__ import annotations

import json

import pandas as pd

from microns_helpers.client import LONG_TERM_VERSIONS

from .common import (
    shared,
)

# live-service-2026.md: which versions the service still serves in late 2026 (the long-term
# ones are the client's own list, so the sample and connect() agree).
EXPIRED_VERSIONS = (343, 661, 795, 1078, 1181, 1412)
# The server's expires_on was never published. One date was: version 1507's release
# manifest says it "will expire July 31, 2026" (FACTS.md), a year after its release, which
# the rule below gives (at the release's time of day, inferred). The dates here agree with
# every published version list (FACTS.md: 343, 661, 795 and 1078 listed in 2024-10, none
# of the expired ones in 2026-05); every other one is a year after release.
EXPIRES_ON = {
    343: "2025-01-13T10:10:01.286229",
    661: "2025-01-13T10:10:01.286229",
    795: "2025-01-13T10:10:01.286229",
    1078: "2025-06-05T10:10:01.203215",
    1181: "2025-09-16T10:10:01.121167",
    1412: "2026-04-29T10:10:01.200893",
}
# The order of the server's lists (its database order): 1300 first, as in the 2026-05 list
# (FACTS.md), then the 2024-10 list and the newer versions.
SERVER_ORDER = (1300, 1078, 117, 661, 343, 1181, 795, 943, 1412, 1507, 1621, 1718, 1822)


def build_versions() -> list[dict]:
    """The server's version records: real time stamps, validity as of late 2026."""
    published = {v["version"]: v for v in json.loads(shared("versions.json").read_text())}
    out = []
    for version in SERVER_ORDER:
        stamp = pd.Timestamp(published[version]["time_stamp_iso"]).tz_convert("UTC")
        stamp = stamp.tz_localize(None)
        if version in LONG_TERM_VERSIONS:
            expires = (stamp + pd.DateOffset(years=100)).strftime("%Y-%m-%dT%H:%M:%S.%f")
        else:
            default = (stamp + pd.DateOffset(years=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")
            expires = EXPIRES_ON.get(version, default)
        valid = version not in EXPIRED_VERSIONS
        out.append(
            {
                "version": version,
                "time_stamp": stamp.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                "expires_on": expires,
                "valid": valid,
                "status": "AVAILABLE" if valid else "EXPIRED",
            }
        )
    return out


def tables_of_every_version(published: dict[int, list[str]], versions: list[int]) -> dict:
    """Each version's table list: its own where published, else the newest published one
    that is not newer, else the oldest published one."""
    known = sorted(published)
    out = {}
    for v in versions:
        older = [k for k in known if k <= v]
        out[str(v)] = published[older[-1] if older else known[0]]
    return out


# ---------------------------------------------------------------------------------------------
