"""Revocation data fetched from the CAs (CRL, OCSP) and cached until its nextUpdate.

Issue #4: revocation is checked by CRL and OCSP where the certificate names them, and the
results are cached with their validity. Validation and signing both build their pyHanko
`ValidationContext` with `fetcher_backend()` when fetching is allowed
(settings.SIGNING_FETCH_REVOCATION): the fetchers read `RevocationCacheEntry` first and store
every new CRL (by URL) and OCSP response (by issuer key and serial) until its nextUpdate — a
response without nextUpdate is kept `NO_NEXT_UPDATE_TTL`. An expired entry is fetched again.

pyHanko validates asynchronously and Django's ORM is synchronous: when fetching, `run()` drives
the coroutine with asgiref's `async_to_sync`, so the cache's queries (`sync_to_async`,
thread-sensitive) run on the caller's thread, in its connection and transaction.

The fetchers are pyhanko-certvalidator's aiohttp fetchers (pinned 0.33.0) with one method
each overridden: the HTTP exchange and every check on the response stay theirs.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import UTC, datetime, timedelta

from asgiref.sync import async_to_sync, sync_to_async
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from django.conf import settings
from django.db import IntegrityError, transaction
from pyhanko_certvalidator.fetchers import Fetchers, OwnedFetcherBackend
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.cert_fetch_client import (
    AIOHttpCertificateFetcher,
)
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.crl_client import (
    AIOHttpCRLFetcher,
    _grab_crl,
)
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.ocsp_client import AIOHttpOCSPFetcher
from pyhanko_certvalidator.fetchers.common_utils import FetchBudget, FetchKind

from chinhquyenso.signing.models import RevocationCacheEntry, RevocationKind

log = logging.getLogger(__name__)

# RFC 6960 §4.2.2.1: no nextUpdate means newer information is always available; keep it briefly.
NO_NEXT_UPDATE_TTL = timedelta(minutes=10)


def run(coroutine_function, *contexts, fetching: bool):
    """Run `coroutine_function()` to completion from synchronous code, then release the
    network sessions the validation `contexts` opened (inside the same event loop). With
    `fetching` (the contexts use `fetcher_backend()`), through asgiref so the cache's queries
    run on this thread; otherwise a plain event loop (no database access inside)."""

    async def runner():
        try:
            return await coroutine_function()
        finally:
            for context in contexts:
                if context is not None:
                    await context.aclose()

    if fetching:
        return async_to_sync(runner)()
    return asyncio.run(runner())


def fetcher_backend() -> OwnedFetcherBackend:
    """A caching fetcher backend for one validation context (which closes it when done)."""
    timeout = int(getattr(settings, "SIGNING_FETCH_TIMEOUT", 10))
    return OwnedFetcherBackend(CachingFetcherBackend(per_request_timeout=timeout))


class CachingFetcherBackend(AIOHttpFetcherBackend):
    def get_fetchers(self) -> Fetchers:
        budget = FetchBudget(self.limits)
        common = {"per_request_timeout": self.per_request_timeout, "budget": budget}
        return Fetchers(
            ocsp_fetcher=CachingOCSPFetcher(self.session, **common),
            crl_fetcher=CachingCRLFetcher(self.session, **common),
            cert_fetcher=AIOHttpCertificateFetcher(self.session, **common),
        )


class CachingOCSPFetcher(AIOHttpOCSPFetcher):
    async def _fetch(self, cert, authority):
        key = _ocsp_key(authority.public_key.sha256.hex(), cert.serial_number)
        cached = await sync_to_async(_lookup)(key)
        if cached is not None:
            return asn1_ocsp.OCSPResponse.load(cached)
        response = await super()._fetch(cert, authority)
        await sync_to_async(_store_ocsp)(key, authority.public_key.sha256.hex(), cert, response)
        return response


class CachingCRLFetcher(AIOHttpCRLFetcher):
    async def _single_fetch(self, url):
        # The same job as the parent's, with the cache in front, still run through
        # _post_fetch_task so that cache hits count among `fetched_crls()` (embedded for B-LT).
        async def task():
            key = _crl_key(url)
            cached = await sync_to_async(_lookup)(key)
            if cached is not None:
                return asn1_crl.CertificateList.load(cached)
            self._charge(FetchKind.CRL)
            fetched = await _grab_crl(
                url,
                user_agent=self.user_agent,
                session=self.get_session(),
                timeout=self.per_request_timeout,
            )
            await sync_to_async(_store_crl)(key, url, fetched)
            return fetched

        return await self._post_fetch_task(url, task)


# --- The cache table ------------------------------------------------------------------------


def _crl_key(url: str) -> str:
    return "crl:" + hashlib.sha256(url.encode()).hexdigest()


def _ocsp_key(issuer_key_sha256: str, serial: int) -> str:
    return f"ocsp:{issuer_key_sha256}:{serial:x}"


def _lookup(key: str) -> bytes | None:
    row = RevocationCacheEntry.objects.filter(key=key).only("der", "fetched_at", "next_update")
    row = row.first()
    if row is None:
        return None
    now = datetime.now(UTC)
    expires = row.next_update or row.fetched_at + NO_NEXT_UPDATE_TTL
    if expires <= now:
        log.info("revocation cache: %s expired at %s, fetching again", key, expires)
        return None
    return bytes(row.der)


def _save(*, key: str, kind: str, url: str, issuer: str, serial: str, der: bytes, this, next_):
    values = {
        "kind": kind,
        "url": url[:1000],
        "issuer": issuer,
        "serial": serial,
        "der": der,
        "fetched_at": datetime.now(UTC),
        "this_update": this,
        "next_update": next_,
    }
    try:
        with transaction.atomic():
            RevocationCacheEntry.objects.update_or_create(key=key, defaults=values)
    except IntegrityError:  # another process stored the same key meanwhile: theirs is as good
        log.info("revocation cache: %s stored concurrently", key)


def _store_crl(key: str, url: str, fetched: asn1_crl.CertificateList) -> None:
    tbs = fetched["tbs_cert_list"]
    _save(
        key=key,
        kind=RevocationKind.CRL,
        url=url,
        issuer="",
        serial="",
        der=fetched.dump(),
        this=tbs["this_update"].native,
        next_=tbs["next_update"].native,
    )


def _store_ocsp(key: str, issuer: str, cert, response: asn1_ocsp.OCSPResponse) -> None:
    this = next_ = None
    try:
        data = response["response_bytes"]["response"].parsed["tbs_response_data"]
        for single in data["responses"]:
            if single["cert_id"]["serial_number"].native == cert.serial_number:
                this, next_ = single["this_update"].native, single["next_update"].native
                break
    except (KeyError, ValueError, TypeError):
        return  # not a basic OCSP response: nothing worth keeping
    _save(
        key=key,
        kind=RevocationKind.OCSP,
        url=", ".join(cert.ocsp_urls)[:1000] if hasattr(cert, "ocsp_urls") else "",
        issuer=issuer,
        serial=format(cert.serial_number, "x"),
        der=response.dump(),
        this=this,
        next_=next_,
    )
