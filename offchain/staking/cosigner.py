"""Co-sign batch digests for the current sequencer (the seeds' MPC step as a k-of-n set).

``POST /cosign`` with ``{digest, chain_id, contract, batch_index, header_hash, header}``
answers ``{"signer": "0x..", "signature": "0x.."}`` (65-byte r‖s‖v over ``digest``) after
checking that:

1. ``chain_id`` is the L1 this node follows and ``contract`` is a StateCommitment it serves;
2. ``digest == batch_digest(chain_id, contract, batch_index, header_hash, absent)``;
3. the absence bitmap ``absent`` (default 0) is the round's: in a FROST round (``/frost/sign``)
   exactly the active members (``SequencerSet.activeSigners()`` order, read from L1 now) with
   no commitment in the signing package; over ``/cosign`` (no package) it must not mark this
   node nor a bit beyond the active set (403 ``bad_absence`` otherwise; nothing is recorded, no
   nonce is used);
4. the node's ``validator`` (the rollup node plugs its own check in: header fields against
   its re-executed blocks) accepts the header;
5. it never signed a *different* header hash for the same (contract, batch index) before
   (equivocation guard, persisted in SQLite so a restart cannot be tricked).

Errors are JSON ``{"error": {"code": "...", "message": "..."}}`` with status 400 (malformed),
403 (refused), 409 (conflicting header for an index already signed) or 503 ``unavailable``
(a check could not read L1: nothing signed).

:func:`create_router` gives a FastAPI router the sequencer node can mount;
:class:`CosignerServer` runs it alone in a background thread.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from eth_utils import is_address, to_checksum_address
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from offchain.common.http import BackgroundServer
from offchain.errors import RpcError
from offchain.staking.errors import CosignRefused, StakingError
from offchain.staking.signatures import absence_bitmap, absent_members, batch_digest, sign_digest

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

# validator(contract, batch_index, header_hash, header) raises CosignRefused to refuse.
Validator = Callable[[str, int, bytes, dict[str, Any]], None]


class CosignBody(BaseModel):
    """The JSON body of ``POST /cosign``."""

    digest: str
    chain_id: int
    contract: str
    batch_index: int = Field(ge=0)
    header_hash: str
    header: dict[str, Any] = Field(default_factory=dict)
    #: bit i: member i of ``activeSigners()`` took no part in the round (0: everyone did).
    absent: int = Field(default=0, ge=0, lt=2**256)


class Refusal(StakingError):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class SignedLog:
    """(contract, batch index) -> header hash this node signed; SQLite (``:memory:`` allowed)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS signed (contract TEXT, idx INTEGER, header_hash TEXT,"
                " signed_at REAL, PRIMARY KEY (contract, idx))"
            )
            self._db.commit()

    def claim(self, contract: str, index: int, header_hash: str) -> str | None:
        """Record ``header_hash`` for (contract, index); return the conflicting one if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT header_hash FROM signed WHERE contract=? AND idx=?", (contract, index)
            ).fetchone()
            if row is not None:
                return None if row[0] == header_hash else str(row[0])
            self._db.execute(
                "INSERT INTO signed VALUES (?, ?, ?, ?)",
                (contract, index, header_hash, time.time()),
            )
            self._db.commit()
            return None

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM signed").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


@dataclass
class Cosigner:
    """The signing policy of one sequencer node.

    Args:
        account: this node's signer key.
        chain_id: L1 chain id it follows.
        contracts: StateCommitment addresses it signs for.
        validator: extra check of the header (the rollup node's re-execution), optional.
        log: equivocation guard.
        active_signers: reads ``SequencerSet.activeSigners()`` from L1 (the absence bitmap's
            order); None: no L1 view, so only ``absent == 0`` is signed.
    """

    account: LocalAccount
    chain_id: int
    contracts: set[str]
    validator: Validator | None = None
    log: SignedLog = field(default_factory=SignedLog)
    active_signers: Callable[[], Sequence[str]] | None = None

    def __post_init__(self) -> None:
        self.contracts = {to_checksum_address(c) for c in self.contracts}

    def sign(self, body: CosignBody) -> dict[str, str]:
        """Check ``body`` and sign its digest.

        Raises:
            Refusal: with an HTTP status and error code.
        """
        digest = self.check(body)
        sig = sign_digest(self.account, digest)
        return {"signer": self.account.address, "signature": "0x" + sig.hex()}

    def check(self, body: CosignBody, present: Collection[str] | None = None) -> bytes:
        """Every check of :meth:`sign` (the FROST signing round runs the same), recording the
        header hash for (contract, index); returns the digest to sign.

        Args:
            body: the request.
            present: a FROST round's members with a commitment in the signing package (the
                bitmap must mark exactly the active members not among them); None over
                ``/cosign``.

        Raises:
            Refusal: with an HTTP status and error code.
        """
        if body.chain_id != self.chain_id:
            raise Refusal("wrong_chain", f"chain id {body.chain_id} is not {self.chain_id}", 403)
        if not is_address(body.contract):
            raise Refusal("bad_request", f"contract {body.contract!r} is not an address", 400)
        contract = to_checksum_address(body.contract)
        if contract not in self.contracts:
            raise Refusal("unknown_contract", f"this node does not sign for {contract}", 403)
        try:
            header_hash = bytes.fromhex(body.header_hash.removeprefix("0x"))
            digest = bytes.fromhex(body.digest.removeprefix("0x"))
        except ValueError:
            raise Refusal("bad_request", "digest and header_hash must be hex", 400) from None
        if len(header_hash) != 32 or len(digest) != 32:
            raise Refusal("bad_request", "digest and header_hash must be 32 bytes", 400)
        expected = batch_digest(self.chain_id, contract, body.batch_index, header_hash, body.absent)
        if digest != expected:
            raise Refusal(
                "digest_mismatch",
                f"digest is not keccak256(abi.encode(chainid, contract, index, headerHash"
                f"{', absent' if body.absent else ''})); expected 0x{expected.hex()}",
                403,
            )
        self.check_absence(body.absent, present)
        if self.validator is not None:
            try:
                self.validator(contract, body.batch_index, header_hash, body.header)
            except CosignRefused as e:
                raise Refusal("header_rejected", e.message, 403) from e
        conflict = self.log.claim(contract, body.batch_index, "0x" + header_hash.hex())
        if conflict is not None:
            raise Refusal(
                "conflicting_header",
                f"already signed header {conflict} for batch {body.batch_index} of {contract}",
                409,
            )
        return digest

    def check_absence(self, absent: int, present: Collection[str] | None) -> None:
        """Refuse (403 ``bad_absence``) a bitmap that is not the round's (see :meth:`check`).

        Raises:
            Refusal: the bitmap marks a member present in the package (this node, over
                ``/cosign``), leaves out one absent from it, or cannot be checked.
        """
        if self.active_signers is None:
            if absent:
                raise Refusal("bad_absence", "this node has no L1 view to check absences", 403)
            return
        if present is None and not absent:
            return  # /cosign: nobody marked, nothing to read
        active = list(self.active_signers())
        me = self.account.address
        if present is None:
            present = [me]
            expected = absent & absence_bitmap(active, [me])  # only this node's bit checked
        else:
            expected = absence_bitmap(active, present)
        if absent == expected:
            return
        marked = set(absent_members(active, absent & ~expected))
        beyond = absent >> len(active)
        if me in marked:
            why = f"it marks this node {me}, which takes part"
        elif marked:
            why = f"it marks {sorted(marked)}, present in the signing package"
        elif beyond:
            why = f"it marks members beyond the {len(active)} active signers"
        else:
            why = f"it leaves out {absent_members(active, expected & ~absent)}, absent"
        raise Refusal(
            "bad_absence",
            f"absence bitmap {hex(absent)} is not this round's {hex(expected)}: {why}",
            403,
        )


def create_router(cosigner: Cosigner) -> APIRouter:
    """A router with ``POST /cosign`` and ``GET /cosign/health`` (mount it in the node's app)."""
    router = APIRouter()

    @router.post("/cosign")
    def cosign(body: CosignBody) -> JSONResponse:
        try:
            return JSONResponse(cosigner.sign(body))
        except Refusal as e:
            return JSONResponse(
                {"error": {"code": e.code, "message": e.message}}, status_code=e.status
            )
        except (requests.RequestException, OSError, RpcError) as e:
            # A check that reads L1 (the active set) could not run: nothing signed, ask again.
            msg = f"cannot check now: {type(e).__name__}: {e}"[:300]
            return JSONResponse({"error": {"code": "unavailable", "message": msg}}, 503)

    @router.get("/cosign/health")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "signer": cosigner.account.address,
            "chain_id": cosigner.chain_id,
            "contracts": sorted(cosigner.contracts),
            "signed": cosigner.log.count(),
        }

    return router


def create_app(cosigner: Cosigner) -> FastAPI:
    """A standalone app around :func:`create_router` (422 body errors reported as 400 JSON)."""
    from fastapi.exceptions import RequestValidationError

    app = FastAPI(title="l2kit cosigner", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(create_router(cosigner))

    @app.exception_handler(RequestValidationError)
    async def _bad_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"msg": "invalid body"}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return JSONResponse(
            {"error": {"code": "bad_request", "message": f"{where}: {first.get('msg')}"}},
            status_code=400,
        )

    return app


class CosignerServer(BackgroundServer):
    """The co-signer alone, served by uvicorn in a background thread.

    Args:
        cosigner: the signing policy.
        host: interface.
        port: TCP port (``None``: a free one).
    """

    def __init__(
        self, cosigner: Cosigner, host: str = "127.0.0.1", port: int | None = None
    ) -> None:
        super().__init__(create_app(cosigner), host, port, name="co-signer", error=StakingError)
        self.cosigner = cosigner
