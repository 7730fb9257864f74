"""L2 state: an indexed Merkle tree (depth 32) of (key, value, nextKey) leaves + a deposit counter.

Twin of ``contracts/rollup/StateTree.sol``; definition in docs/spec.md ("State and state root"):

- leaves form a linked list sorted by key in an append-only array; ``L[0] = (0, 0, 0)``;
- ``leafHash = keccak(abi.encode(key, value, nextKey))``; an empty slot is ``bytes32(0)``;
- ``node(a, b) = 0`` if both are 0, else ``keccak(a ‖ b)`` (empty subtrees cost nothing);
- ``stateRoot = keccak(abi.encode(treeRoot, size, nextDepositId))``.

Updates mark leaves dirty; the root is recomputed lazily, once per touched node, so the
several keys a transaction writes share the upper part of their paths.
Every change is journaled, so :meth:`State.checkpoint` / :meth:`State.rollback` are O(changes).
"""

from __future__ import annotations

import bisect
import builtins
import struct
from collections.abc import Iterable
from dataclasses import dataclass

import sha3  # type: ignore[import-not-found]  # safe-pysha3 (offchain.common.hashing)

from offchain.common.hashing import keccak, keccak_pair
from offchain.rollup.errors import StateError, StateProofError

DEPTH = 32
CAPACITY = 1 << DEPTH
ZERO = b"\x00" * 32
UINT256_MAX = (1 << 256) - 1

_ZERO64 = b"\x00" * 64
_k256 = sha3.keccak_256
_W1 = (1).to_bytes(32, "big")
_W2 = (2).to_bytes(32, "big")
_PAD12 = b"\x00" * 12


def balance_key(account: str | bytes, token: str | bytes) -> int:
    """``uint256(keccak(abi.encode(uint256(1), account, token)))``.

    Args:
        account: 20-byte address (hex string or raw bytes).
        token: L1 token address (ETH = address(0)).
    """
    a = account if isinstance(account, bytes) else bytes.fromhex(account[2:])
    t = token if isinstance(token, bytes) else bytes.fromhex(token[2:])
    return int.from_bytes(keccak(_W1 + _PAD12 + a + _PAD12 + t), "big")


def nonce_key(account: str | bytes) -> int:
    """``uint256(keccak(abi.encode(uint256(2), account)))``."""
    a = account if isinstance(account, bytes) else bytes.fromhex(account[2:])
    return int.from_bytes(keccak(_W2 + _PAD12 + a), "big")


def leaf_hash(key: int, value: int, next_key: int) -> bytes:
    """``keccak256(abi.encode(key, value, nextKey))``."""
    return keccak(
        key.to_bytes(32, "big") + value.to_bytes(32, "big") + next_key.to_bytes(32, "big")
    )


def node_hash(a: bytes, b: bytes) -> bytes:
    """Inner node: ``bytes32(0)`` for two empty children, else ``keccak(a ‖ b)``."""
    if a == ZERO and b == ZERO:
        return ZERO
    return keccak_pair(a, b)


def compose_state_root(tree_root: bytes, size: int, next_deposit_id: int) -> bytes:
    """``keccak256(abi.encode(treeRoot, size, nextDepositId))``."""
    return keccak(tree_root + size.to_bytes(32, "big") + next_deposit_id.to_bytes(32, "big"))


def compute_tree_root(index: int, leaf: bytes, siblings: Iterable[bytes]) -> bytes:
    """Tree root implied by node ``leaf`` (a leaf hash, or ZERO for an empty slot) at ``index``."""
    node = leaf
    i = index
    for sib in siblings:
        node = node_hash(sib, node) if i & 1 else node_hash(node, sib)
        i >>= 1
    return node


@dataclass(frozen=True)
class Leaf:
    """One indexed-tree leaf."""

    key: int
    value: int
    next_key: int

    @property
    def hash(self) -> bytes:
        return leaf_hash(self.key, self.value, self.next_key)


@dataclass(frozen=True)
class StateProof:
    """Inclusion (``included``) or exclusion proof of ``key`` against a state root.

    Attributes:
        key: the key proven.
        value: its value (0 when excluded).
        included: True if ``leaf.key == key``; else ``leaf`` is the low leaf.
        index: leaf index of ``leaf``.
        leaf: the leaf (the key's own leaf, or the low leaf).
        siblings: 32 siblings from the leaf level up.
        tree_root, size, next_deposit_id: the state root's decomposition.
    """

    key: int
    value: int
    included: bool
    index: int
    leaf: Leaf
    siblings: tuple[bytes, ...]
    tree_root: bytes
    size: int
    next_deposit_id: int

    @property
    def state_root(self) -> bytes:
        return compose_state_root(self.tree_root, self.size, self.next_deposit_id)

    def to_json(self) -> dict[str, object]:
        """JSON form (RPC ``l2_getProof``): ints as decimal strings, bytes as 0x hex."""
        return {
            "key": hex(self.key),
            "value": str(self.value),
            "included": self.included,
            "index": self.index,
            "leaf": {
                "key": hex(self.leaf.key),
                "value": str(self.leaf.value),
                "nextKey": hex(self.leaf.next_key),
            },
            "siblings": ["0x" + s.hex() for s in self.siblings],
            "treeRoot": "0x" + self.tree_root.hex(),
            "size": self.size,
            "nextDepositId": self.next_deposit_id,
            "stateRoot": "0x" + self.state_root.hex(),
        }


def verify_proof(state_root: bytes, proof: StateProof) -> int:
    """Check ``proof`` against ``state_root`` and return the proven value (0 if excluded).

    Raises:
        StateProofError: if the proof does not verify or does not fit the key.
    """
    if len(proof.siblings) != DEPTH:
        raise StateProofError(f"a state proof has {DEPTH} siblings, got {len(proof.siblings)}")
    if proof.state_root != state_root:
        raise StateProofError("proof's (treeRoot, size, nextDepositId) do not hash to the root")
    if not 0 <= proof.index < proof.size:
        raise StateProofError(f"leaf index {proof.index} outside the tree (size {proof.size})")
    if compute_tree_root(proof.index, proof.leaf.hash, proof.siblings) != proof.tree_root:
        raise StateProofError("leaf path does not lead to the tree root")
    lf = proof.leaf
    if proof.included:
        if lf.key != proof.key or proof.value != lf.value:
            raise StateProofError("inclusion proof is for another key or value")
        return lf.value
    if proof.value != 0 or not (
        lf.key < proof.key and (lf.next_key == 0 or lf.next_key > proof.key)
    ):
        raise StateProofError("low leaf does not bracket the key: exclusion not proven")
    return 0


@dataclass(frozen=True)
class KeyWitness:
    """Witness of one state access, for L1 re-execution (``StateTree.KeyWitness``).

    ``index``/``leaf``/``siblings`` prove the key (inclusion) or its low leaf (exclusion)
    against the root before the access; ``insert_siblings`` (32 or none) are the siblings
    of the empty slot ``size`` after the low leaf was updated, present only for an insertion.
    """

    index: int
    leaf: Leaf
    siblings: tuple[bytes, ...]
    insert_siblings: tuple[bytes, ...]

    def to_abi(self) -> tuple[int, int, int, int, list[bytes], list[bytes]]:
        """The Solidity struct tuple ``(index, leafKey, leafValue, leafNextKey, siblings,
        insertSiblings)``."""
        lf = self.leaf
        return (
            self.index,
            lf.key,
            lf.value,
            lf.next_key,
            list(self.siblings),
            list(self.insert_siblings),
        )


@dataclass(frozen=True)
class LeafRow:
    """A leaf with its index, for the persistence diff log."""

    index: int
    key: int
    value: int
    next_key: int


# Journal entries: (index, old leaf or None if the leaf was appended) or (-1, old deposit id).
_JournalEntry = tuple[int, "tuple[int, int, int] | None | int"]

_DUMP_MAGIC = b"L2ST\x01"


def _set_node(up: bytearray, p: int, lvl: bytearray) -> None:
    """``up[p] = node(lvl[2p], lvl[2p+1])`` (missing children are empty)."""
    pair = lvl[64 * p : 64 * p + 64]
    if len(pair) < 64:
        pair += bytes(64 - len(pair))
    v = ZERO if pair == _ZERO64 else _k256(pair).digest()
    o = 32 * p
    if o < len(up):
        up[o : o + 32] = v
    else:
        up += bytes(o - len(up))
        up += v


class State:
    """The L2 state (see the module docstring).

    Keys are uint256 (use :func:`balance_key` / :func:`nonce_key`); values are uint256.

    Memory layout (1M accounts in a few hundred MB): a leaf is three entries of the parallel
    lists ``_keys`` / ``_vals`` / ``_nexts``; each tree level is one ``bytearray`` of 32-byte
    nodes (node ``i`` at ``[32 i, 32 i + 32)``; a missing node is empty).
    """

    def __init__(self) -> None:
        self._keys: list[int] = [0]
        self._vals: list[int] = [0]
        self._nexts: list[int] = [0]
        self._index: dict[int, int] = {0: 0}
        self._sorted: list[int] = [0]
        self._levels: list[bytearray] = [bytearray(leaf_hash(0, 0, 0))] + [
            bytearray() for _ in range(DEPTH)
        ]
        self._dirty: set[int] = {0}
        self._shrunk = False  # leaves were removed since the last flush
        self._next_deposit_id = 0
        self._journal: list[_JournalEntry] = []
        self._journal_base = 0

    # ------------------------------------------------------------------ reads

    @property
    def size(self) -> int:
        """Number of leaves (the sentinel included)."""
        return len(self._keys)

    @property
    def next_deposit_id(self) -> int:
        """Id of the next deposit to apply."""
        return self._next_deposit_id

    @next_deposit_id.setter
    def next_deposit_id(self, value: int) -> None:
        self._journal.append((-1, self._next_deposit_id))
        self._next_deposit_id = value

    def get(self, key: int) -> int:
        """Value of ``key`` (0 if absent)."""
        i = self._index.get(key)
        return 0 if i is None else self._vals[i]

    def contains(self, key: int) -> bool:
        """True if ``key`` has a leaf (possibly with value 0)."""
        return key in self._index

    @property
    def tree_root(self) -> bytes:
        """Root of the depth-32 indexed tree."""
        self._flush()
        top = self._levels[DEPTH]
        return bytes(top[:32]) if top else ZERO

    @property
    def root(self) -> bytes:
        """The state root ``keccak(abi.encode(treeRoot, size, nextDepositId))``."""
        return compose_state_root(self.tree_root, len(self._keys), self._next_deposit_id)

    def _leaf(self, i: int) -> tuple[int, int, int]:
        return self._keys[i], self._vals[i], self._nexts[i]

    def leaves(self) -> list[LeafRow]:
        """All leaves in index order."""
        return [
            LeafRow(i, k, v, n)
            for i, (k, v, n) in enumerate(zip(self._keys, self._vals, self._nexts, strict=True))
        ]

    # ------------------------------------------------------------------ writes

    def _put(self, i: int, key: int, value: int, next_key: int) -> None:
        """Overwrite leaf ``i`` (journaled by the caller) and its level-0 hash."""
        self._vals[i], self._nexts[i] = value, next_key
        self._levels[0][32 * i : 32 * i + 32] = leaf_hash(key, value, next_key)
        self._dirty.add(i)

    def set(self, key: int, value: int) -> None:
        """Write ``value`` to ``key`` (insert if absent and ``value != 0``; docs/spec.md).

        Raises:
            StateError: for a key or value outside uint256, key 0, or a full tree.
        """
        i = self._index.get(key)
        if i is not None:
            if self._vals[i] == value:
                return
            self._journal.append((i, self._leaf(i)))
            self._put(i, key, value, self._nexts[i])
            return
        if value == 0:
            return
        if not 0 < key <= UINT256_MAX or not 0 <= value <= UINT256_MAX:
            raise StateError(f"key/value out of range: key={key:#x} value={value}")
        n = len(self._keys)
        if n >= CAPACITY:
            raise StateError(f"state tree is full ({CAPACITY} leaves)")
        pos = bisect.bisect_left(self._sorted, key)
        j = self._index[self._sorted[pos - 1]]
        old_next = self._nexts[j]
        self._journal.append((j, self._leaf(j)))
        self._put(j, self._keys[j], self._vals[j], key)
        self._journal.append((n, None))
        self._keys.append(key)
        self._vals.append(value)
        self._nexts.append(old_next)
        self._levels[0] += leaf_hash(key, value, old_next)
        self._index[key] = n
        self._sorted.insert(pos, key)
        self._dirty.add(n)

    def _flush(self) -> None:
        """Recompute every node above a dirty leaf, each once (the hot path of every
        transaction: the state root after each one is an MTSR leaf).

        Written inline, for the interpreter's sake: a transaction rehashes some 90 nodes, and
        the work around each keccak costs more than the keccak. A dirty path never meets two
        empty children unless leaves were removed (:meth:`rollback` of an insertion): only
        then is the ``node(0, 0) = 0`` rule checked; and a pair is padded only at a level's
        right edge.
        """
        idxs = self._dirty
        if not idxs:
            return
        self._dirty = set()
        if self._shrunk:
            self._shrunk = False
            self._flush_checked(idxs)
            return
        levels = self._levels
        k256 = _k256
        h = 0
        # Level by level while several paths are dirty ...
        while h < DEPTH and len(idxs) > 1:
            lvl, up = levels[h], levels[h + 1]
            n_lvl, n_up = len(lvl), len(up)
            idxs = {i >> 1 for i in idxs}
            for p in idxs:
                o = p << 6
                if o + 64 <= n_lvl:
                    v = k256(lvl[o : o + 64]).digest()
                else:
                    v = k256(lvl[o:] + bytes(o + 64 - n_lvl)).digest()
                o >>= 1
                if o < n_up:
                    up[o : o + 32] = v
                else:
                    up += bytes(o - n_up)
                    up += v
                    n_up = len(up)
            h += 1
        # ... then one path up to the root (the paths have merged).
        if h < DEPTH:
            (p,) = idxs
            while h < DEPTH:
                lvl, up = levels[h], levels[h + 1]
                o = (p >> 1) << 6
                n_lvl = len(lvl)
                if o + 64 <= n_lvl:
                    v = k256(lvl[o : o + 64]).digest()
                else:
                    v = k256(lvl[o:] + bytes(o + 64 - n_lvl)).digest()
                p >>= 1
                o >>= 1
                n_up = len(up)
                if o < n_up:
                    up[o : o + 32] = v
                else:
                    up += bytes(o - n_up)
                    up += v
                h += 1

    def _flush_checked(self, idxs: builtins.set[int]) -> None:
        """:meth:`_flush` with the empty-children rule at every node (after a removal)."""
        levels = self._levels
        for h in range(DEPTH):
            idxs = {i >> 1 for i in idxs}
            for p in idxs:
                _set_node(levels[h + 1], p, levels[h])

    # ------------------------------------------------------------------ proofs

    def _siblings(self, index: int) -> tuple[bytes, ...]:
        self._flush()
        out = []
        i = index
        for h in range(DEPTH):
            s = 32 * (i ^ 1)
            out.append(bytes(self._levels[h][s : s + 32]) or ZERO)
            i >>= 1
        return tuple(out)

    def _low_index(self, key: int) -> int:
        pos = bisect.bisect_left(self._sorted, key)
        return self._index[self._sorted[pos - 1]]

    def prove(self, key: int) -> StateProof:
        """Inclusion proof of ``key`` if present, else exclusion proof (its low leaf)."""
        i = self._index.get(key)
        included = i is not None
        if i is None:
            i = self._low_index(key)
        k, v, n = self._leaf(i)
        sibs = self._siblings(i)
        return StateProof(
            key=key,
            value=v if included else 0,
            included=included,
            index=i,
            leaf=Leaf(k, v, n),
            siblings=sibs,
            tree_root=self.tree_root,
            size=len(self._keys),
            next_deposit_id=self._next_deposit_id,
        )

    def witness_write(self, key: int, value: int | None) -> KeyWitness:
        """Witness of one access to ``key`` for L1 re-execution, then write ``value``.

        Args:
            key: the key accessed.
            value: the value written, or None for a read that fails its check (no write).

        Returns:
            The witness against the state *before* the access (plus the insert siblings).
        """
        i = self._index.get(key)
        if i is None:
            i = self._low_index(key)
        k, v, n = self._leaf(i)
        sibs = self._siblings(i)
        ins: tuple[bytes, ...] = ()
        if value is not None:
            inserting = key not in self._index and value != 0
            if inserting:
                # The siblings of the new slot do not depend on the slot itself, so after the
                # insert they are exactly those "after the low-leaf update".
                size = len(self._keys)
                self.set(key, value)
                ins = self._siblings(size)
            else:
                self.set(key, value)
        return KeyWitness(i, Leaf(k, v, n), sibs, ins)

    # ------------------------------------------------------------------ checkpoints

    def checkpoint(self) -> int:
        """A position in the change journal to :meth:`rollback` to later."""
        return self._journal_base + len(self._journal)

    def rollback(self, checkpoint: int) -> None:
        """Undo every change made after ``checkpoint``.

        Raises:
            StateError: if the checkpoint is in the future or was discarded.
        """
        pos = checkpoint - self._journal_base
        if not 0 <= pos <= len(self._journal):
            raise StateError(
                f"checkpoint {checkpoint} is not available (journal covers "
                f"{self._journal_base}..{self.checkpoint()})"
            )
        while len(self._journal) > pos:
            i, old = self._journal.pop()
            if i < 0:
                assert isinstance(old, int)
                self._next_deposit_id = old
            elif old is None:
                key = self._keys.pop()
                self._vals.pop()
                self._nexts.pop()
                del self._levels[0][-32:]
                del self._index[key]
                del self._sorted[bisect.bisect_left(self._sorted, key)]
                self._dirty.add(i)
                self._shrunk = True
            else:
                assert isinstance(old, tuple)
                self._put(i, *old)

    def discard_before(self, checkpoint: int) -> None:
        """Forget journal entries before ``checkpoint`` (earlier checkpoints become invalid)."""
        pos = checkpoint - self._journal_base
        if not 0 <= pos <= len(self._journal):
            raise StateError(f"checkpoint {checkpoint} is not available")
        del self._journal[:pos]
        self._journal_base = checkpoint

    def changes_since(self, checkpoint: int) -> list[LeafRow]:
        """Current content of every leaf written after ``checkpoint`` (for incremental
        persistence: upsert these rows by index, delete rows with ``index >= size``)."""
        pos = checkpoint - self._journal_base
        if not 0 <= pos <= len(self._journal):
            raise StateError(f"checkpoint {checkpoint} is not available")
        idx = sorted({i for i, _ in self._journal[pos:] if 0 <= i < len(self._keys)})
        return [LeafRow(i, *self._leaf(i)) for i in idx]

    # ------------------------------------------------------------------ persistence

    def dump(self) -> bytes:
        """Compact binary snapshot: magic, size, nextDepositId, then 96 bytes per leaf."""
        parts = [_DUMP_MAGIC, struct.pack(">Q", len(self._keys))]
        parts.append(self._next_deposit_id.to_bytes(32, "big"))
        for k, v, n in zip(self._keys, self._vals, self._nexts, strict=True):
            parts.append(k.to_bytes(32, "big") + v.to_bytes(32, "big") + n.to_bytes(32, "big"))
        return b"".join(parts)

    @classmethod
    def load(cls, data: bytes) -> State:
        """Rebuild a state from :meth:`dump` output.

        Raises:
            StateError: if ``data`` is not a valid dump.
        """
        if not data.startswith(_DUMP_MAGIC) or len(data) < len(_DUMP_MAGIC) + 40:
            raise StateError("not a state dump (bad magic or too short)")
        off = len(_DUMP_MAGIC)
        (size,) = struct.unpack(">Q", data[off : off + 8])
        off += 8
        ndi = int.from_bytes(data[off : off + 32], "big")
        off += 32
        if len(data) != off + 96 * size:
            raise StateError(f"state dump is truncated: {size} leaves announced")
        rows = []
        for i in range(size):
            b = data[off + 96 * i : off + 96 * (i + 1)]
            rows.append(
                LeafRow(
                    i,
                    int.from_bytes(b[:32], "big"),
                    int.from_bytes(b[32:64], "big"),
                    int.from_bytes(b[64:], "big"),
                )
            )
        return cls.from_rows(rows, ndi)

    @classmethod
    def from_rows(cls, rows: Iterable[LeafRow], next_deposit_id: int) -> State:
        """Rebuild a state from all its leaves (e.g. sqlite rows) and the deposit counter.

        Raises:
            StateError: if the rows are not a consistent indexed tree.
        """
        ordered = sorted(rows, key=lambda r: r.index)
        if not ordered or ordered[0] != LeafRow(0, 0, 0, ordered[0].next_key):
            raise StateError("leaf 0 must be the sentinel (key 0, value 0)")
        if [r.index for r in ordered] != list(range(len(ordered))):
            raise StateError("leaf indices must be 0..size-1 without gaps")
        st = cls()
        st._keys = [r.key for r in ordered]
        st._vals = [r.value for r in ordered]
        st._nexts = [r.next_key for r in ordered]
        st._index = {r.key: r.index for r in ordered}
        if len(st._index) != len(ordered):
            raise StateError("duplicate keys in the state rows")
        st._sorted = sorted(st._index)
        # The linked list must visit the keys in sorted order.
        for a, b in zip(st._sorted, [*st._sorted[1:], 0], strict=True):
            if st._nexts[st._index[a]] != b:
                raise StateError(f"leaf {a:#x} has a wrong nextKey")
        st._next_deposit_id = next_deposit_id
        lvl = bytearray(b"".join(leaf_hash(r.key, r.value, r.next_key) for r in ordered))
        st._levels = [lvl]
        for _ in range(DEPTH):
            if len(lvl) % 64:
                lvl = lvl + ZERO
            lvl = bytearray(
                b"".join(
                    ZERO if lvl[o : o + 64] == _ZERO64 else keccak(lvl[o : o + 64])
                    for o in range(0, len(lvl), 64)
                )
            )
            st._levels.append(lvl)
        st._dirty = set()
        st._shrunk = False
        return st

    def copy(self) -> State:
        """An independent copy (journal not copied)."""
        self._flush()
        st = State.__new__(State)
        st._keys = list(self._keys)
        st._vals = list(self._vals)
        st._nexts = list(self._nexts)
        st._index = dict(self._index)
        st._sorted = list(self._sorted)
        st._levels = [bytearray(lvl) for lvl in self._levels]
        st._dirty = set()
        st._shrunk = False
        st._next_deposit_id = self._next_deposit_id
        st._journal = []
        st._journal_base = 0
        return st
