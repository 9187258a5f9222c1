"""Genesys Cloud regions: AWS region code to the domain under which login/api hosts live."""

from __future__ import annotations

REGIONS: dict[str, str] = {
    "us-east-1": "mypurecloud.com",
    "us-east-2": "use2.us-gov-pure.cloud",
    "us-west-2": "usw2.pure.cloud",
    "ca-central-1": "cac1.pure.cloud",
    "sa-east-1": "sae1.pure.cloud",
    "mx-central-1": "mxc1.pure.cloud",
    "eu-west-1": "mypurecloud.ie",
    "eu-west-2": "euw2.pure.cloud",
    "eu-central-1": "mypurecloud.de",
    "eu-central-2": "euc2.pure.cloud",
    "me-central-1": "mec1.pure.cloud",
    "ap-south-1": "aps1.pure.cloud",
    "ap-northeast-1": "mypurecloud.jp",
    "ap-northeast-2": "apne2.pure.cloud",
    "ap-northeast-3": "apne3.pure.cloud",
    "ap-southeast-1": "apse1.pure.cloud",
    "ap-southeast-2": "mypurecloud.com.au",
}


def region_domain(region: str) -> str:
    """Accept a region code (``eu-west-1``) or its domain (``mypurecloud.ie``); return the domain.

    Raises ValueError naming the accepted values when neither matches.
    """
    value = region.strip().lower()
    if value in REGIONS:
        return REGIONS[value]
    if value in REGIONS.values():
        return value
    known = ", ".join(f"{code} ({domain})" for code, domain in REGIONS.items())
    raise ValueError(f"unknown Genesys Cloud region {region!r}; use one of: {known}")
