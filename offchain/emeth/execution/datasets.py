"""The registration-time dataset check: where a program can tell a bad dataset from its bytes
(``Program.fuel``), the execution layer refuses the job at ``RegisterJob`` (docs/spec.md
"Requester-caused failures"), so a bad dataset never reaches a node.

It also binds the job's fuel to its fee: ``fee >= fuel(dataset) * min_fuel_price_wei``, so
the fuel a Ticket adds to a node's ``totalFuel`` was paid for.

Runs before the service takes its write lock (it reads the blob store), and only answers
``ActionError``: 422 ``invalid_dataset`` for a blob that is missing, malformed, over the limit
or rejected by the program, 422 ``invalid_fee`` for a fee below the dataset's fuel, 503
``storage_unavailable`` when the blob store cannot be read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from offchain.emeth.errors import ActionError
from offchain.storage.errors import BadKey, BlobNotFound, BlobTooLarge, StorageError

if TYPE_CHECKING:
    from offchain.emeth.programs import ProgramRegistry
    from offchain.storage.client import BlobClient


@dataclass
class DatasetCheck:
    """Checks a ``RegisterJob``'s dataset with its program.

    Args:
        blobs: the blob store client.
        programs: the programs (the check runs ``fuel(dataset, params)``).
        max_params_bytes: params longer than this are left to the transition (never parsed).
        min_fuel_price_wei: the least fee per unit of fuel (0: fuel is not bound to the fee).
    """

    blobs: BlobClient
    programs: ProgramRegistry
    max_params_bytes: int = 4096
    min_fuel_price_wei: int = 1

    def __call__(self, msg: dict[str, Any]) -> None:
        """Check the normalized ``RegisterJob`` message ``msg``.

        Raises:
            ActionError: 422 ``invalid_dataset``, 503 ``storage_unavailable``.
        """
        if msg["programId"] not in self.programs:
            return  # the transition answers unknown_program
        if len(msg["params"]) > self.max_params_bytes:
            return  # the transition answers invalid_params (never parsed)
        try:
            params = json.loads(msg["params"] or "{}")
        except (ValueError, RecursionError):
            return  # the transition answers invalid_params
        if not isinstance(params, dict):
            return
        key = msg["datasetKey"]
        try:
            data = self.blobs.get(key)
        except (BlobNotFound, BadKey, BlobTooLarge) as e:
            raise ActionError(422, "invalid_dataset", f"dataset {key}: {e}") from e
        except StorageError as e:
            raise ActionError(503, "storage_unavailable", f"cannot read dataset {key}: {e}") from e
        try:
            fuel = self.programs.get(msg["programId"]).fuel(data, params)
        except Exception as e:  # noqa: BLE001 - any failure of the program on it is the dataset's
            reason = f"{type(e).__name__}: {e}"[:300]
            raise ActionError(
                422, "invalid_dataset", f"{msg['programId']} cannot use dataset {key}: {reason}"
            ) from e
        least = fuel * self.min_fuel_price_wei
        if msg["fee"] < least:
            raise ActionError(
                422,
                "invalid_fee",
                f"fee {msg['fee']} does not pay for the dataset's fuel {fuel} at "
                f"{self.min_fuel_price_wei} wei per unit",
                {"minFee": least, "fuel": fuel},
            )
