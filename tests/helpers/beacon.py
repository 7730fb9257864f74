"""A small real beacon-API server in front of Anvil, for the verifier's beacon blob source
(docs/spec.md, "Data availability modes"): ``GET /eth/v1/beacon/genesis`` (genesis time 0),
``GET /eth/v1/config/spec`` (``SECONDS_PER_SLOT`` 1, so a slot is an L1 block timestamp) and
``GET /eth/v1/beacon/blob_sidecars/{slot}``: the blobs Anvil returns
(``anvil_getBlobsByTransactionHash``) for every type-3 transaction of the blocks of that
second, each with its KZG commitment and proof (ckzg), in the beacon API's JSON shape."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import ckzg
from web3 import Web3

from offchain.rollup.ledger.blobs import trusted_setup


class AnvilBeacon:
    """Serves Anvil's blobs as a beacon node would.

    Args:
        w3: Web3 on the Anvil node.
        tamper: serve each blob with its last byte changed (the commitment kept): a source
            whose blobs do not match their versioned hashes.
    """

    def __init__(self, w3: Web3, tamper: bool = False) -> None:
        self.w3 = w3
        self.tamper = tamper
        self.requests: list[str] = []
        beacon = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                beacon.requests.append(self.path)
                code, body = beacon.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> AnvilBeacon:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str) -> tuple[int, Any]:
        if path == "/eth/v1/beacon/genesis":
            return 200, {"data": {"genesis_time": "0", "genesis_fork_version": "0x00000000"}}
        if path == "/eth/v1/config/spec":
            return 200, {"data": {"SECONDS_PER_SLOT": "1"}}
        prefix = "/eth/v1/beacon/blob_sidecars/"
        if path.startswith(prefix) and path[len(prefix) :].isdigit():
            sidecars = self._sidecars(int(path[len(prefix) :]))
            if sidecars is None:
                return 404, {"code": 404, "message": "NOT_FOUND: beacon block at slot"}
            return 200, {"execution_optimistic": False, "finalized": False, "data": sidecars}
        return 400, {"code": 400, "message": f"unsupported path {path}"}

    def _sidecars(self, slot: int) -> list[dict[str, str]] | None:
        ts = trusted_setup()
        out: list[dict[str, str]] = []
        found = False
        n = int(self.w3.eth.block_number)
        while n >= 0:
            block = self.w3.eth.get_block(n, full_transactions=True)
            t = int(block["timestamp"])
            if t < slot:
                break
            n -= 1
            if t != slot:
                continue
            found = True
            for tx in block["transactions"]:
                if int(tx["type"]) != 3:
                    continue
                res = self.w3.provider.make_request(
                    "anvil_getBlobsByTransactionHash",  # type: ignore[arg-type]
                    [tx["hash"].to_0x_hex()],
                )
                for raw_hex in res.get("result") or []:
                    blob = bytes.fromhex(raw_hex.removeprefix("0x"))
                    c = bytes(ckzg.blob_to_kzg_commitment(blob, ts))
                    p = bytes(ckzg.compute_blob_kzg_proof(blob, c, ts))
                    if self.tamper:
                        blob = blob[:-1] + bytes([blob[-1] ^ 1])
                    out.append(
                        {
                            "index": str(len(out)),
                            "blob": "0x" + blob.hex(),
                            "kzg_commitment": "0x" + c.hex(),
                            "kzg_proof": "0x" + p.hex(),
                        }
                    )
        return out if found else None
