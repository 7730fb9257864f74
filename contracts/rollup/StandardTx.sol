// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title StandardTx
/// @notice Decodes and checks a standard Ethereum transaction carried on the L2 (ledger kind 0x03):
///         the signed bytes a wallet sends to eth_sendRawTransaction, legacy with EIP-155 `v`,
///         EIP-2930 or EIP-1559 (docs/spec.md, "Standard transactions"); twin of
///         offchain/rollup/ledger/ethtx.py. Only four kinds exist: an ETH transfer, an ERC-20
///         `transfer` sent to the L2 address of a bridged token, and ETH / token withdrawals
///         through {WITHDRAW_ADDRESS}, each at a fixed gas.
/// @dev    The RLP reader is strict (canonical forms only) and reads the top-level items of
///         the transaction list, and the access list's entries up to its caps
///         ({MAX_ACCESS_LIST_ADDRESSES}, {MAX_ACCESS_LIST_STORAGE_KEYS}: they bound the
///         re-execution's gas; nothing past them is read). It works on offsets into calldata:
///         nothing is copied except the signed span, hashed once for the signing hash.
library StandardTx {
    /// @notice Result of the state-free checks, in the order they run.
    enum Check {
        Ok,
        Malformed,
        WrongChain,
        Unsupported,
        ZeroAmount,
        IntrinsicGas,
        Underpriced,
        BadSignature
    }

    /// @notice A decoded, checked standard transaction: what it does and who signed it.
    /// @param from      the recovered signer
    /// @param kind      {ETH_TRANSFER}, {TOKEN_TRANSFER}, {ETH_WITHDRAW} or {TOKEN_WITHDRAW}
    /// @param token     the L1 token moved (address(0) for ETH)
    /// @param recipient the L2 account credited (transfers) or the L1 recipient (withdrawals)
    /// @param amount    the amount moved (`value` for the ETH kinds)
    /// @param fee       gasUsed × effectiveGasPrice in ETH; `feeOverflows` when above 2^256-1
    struct Tx {
        address from;
        uint8 kind;
        address token;
        address recipient;
        uint256 amount;
        uint256 nonce;
        uint256 fee;
        bool feeOverflows;
    }

    // One RLP item of `raw` is a word (kept on the stack, not a memory struct: decoding is on
    // the fraud-proof path): bits 0-63 payload end, 64-127 payload start, 128-191 header
    // offset, bit 192 set for a list. See {_item}, {_start}, {_end}, {_offset}, {_isList}.

    /// @dev The envelope's fields (integers decoded; `to` and `data` as offsets).
    struct Fields {
        uint8 txType;
        bool hasChainId;
        uint256 chainId;
        uint256 nonce;
        uint256 maxFee;
        uint256 maxPriority;
        uint256 gasLimit;
        bool hasTo;
        address to;
        uint256 value;
        uint256 dataStart;
        uint256 dataEnd;
        bool accessListFits;
        uint256 parity;
        uint256 r;
        uint256 s;
        bytes32 sigHash;
    }

    uint8 internal constant ETH_TRANSFER = 1;
    uint8 internal constant TOKEN_TRANSFER = 2;
    uint8 internal constant ETH_WITHDRAW = 3;
    uint8 internal constant TOKEN_WITHDRAW = 4;

    /// @notice Base fee of the L2 in wei per gas (a protocol constant).
    uint256 internal constant L2_BASE_FEE = 1 gwei;
    /// @notice System address of withdrawals.
    address internal constant WITHDRAW_ADDRESS = 0x0000000000000000000000000000000000004200;
    /// @notice L2 token address of L1 token T = uint160(T) + TOKEN_ALIAS_OFFSET (mod 2^160).
    uint160 internal constant TOKEN_ALIAS_OFFSET = uint160(0x1111000000000000000000000000000000001111);

    /// @notice Most addresses, and storage keys in all, an access list may name (a longer one
    ///         is {Check.Unsupported}); an access list does not change the gas (no EVM runs).
    uint256 internal constant MAX_ACCESS_LIST_ADDRESSES = 4;
    uint256 internal constant MAX_ACCESS_LIST_STORAGE_KEYS = 16;

    uint256 internal constant GAS_ETH_TRANSFER = 21_000;
    uint256 internal constant GAS_TOKEN_TRANSFER = 50_000;
    uint256 internal constant GAS_ETH_WITHDRAW = 60_000;
    uint256 internal constant GAS_TOKEN_WITHDRAW = 70_000;

    bytes4 internal constant TRANSFER_SELECTOR = bytes4(keccak256("transfer(address,uint256)"));
    bytes4 internal constant WITHDRAW_SELECTOR = bytes4(keccak256("withdraw(address)"));
    bytes4 internal constant WITHDRAW_TOKEN_SELECTOR = bytes4(keccak256("withdrawToken(address,uint256,address)"));

    /// @notice Decode `raw` and run every check that needs no state, for an L2 with `l2ChainId`.
    /// @return check the first failing check ({Check.Ok} if none)
    /// @return t     the transaction (meaningful only when `check == Check.Ok`)
    function decode(bytes calldata raw, uint256 l2ChainId) internal pure returns (Check check, Tx memory t) {
        Fields memory f;
        check = _parse(raw, f);
        if (check != Check.Ok) return (check, t);
        if (!f.hasChainId || f.chainId != l2ChainId) return (Check.WrongChain, t);
        uint256 gas;
        (check, gas) = _classify(raw, f, t);
        if (check != Check.Ok) return (check, t);
        if ((t.kind == ETH_WITHDRAW || t.kind == TOKEN_WITHDRAW) && t.amount == 0) return (Check.ZeroAmount, t);
        if (f.gasLimit < gas) return (Check.IntrinsicGas, t);
        if (f.maxFee < L2_BASE_FEE) return (Check.Underpriced, t);
        (address signer, ECDSA.RecoverError err,) =
            ECDSA.tryRecover(f.sigHash, uint8(27 + f.parity), bytes32(f.r), bytes32(f.s));
        if (err != ECDSA.RecoverError.NoError) return (Check.BadSignature, t);
        t.from = signer;
        t.nonce = f.nonce;
        // effectiveGasPrice: gasPrice, or min(maxFeePerGas, baseFee + maxPriorityFeePerGas).
        uint256 price = f.maxFee;
        if (f.txType == 2 && f.maxPriority < f.maxFee - L2_BASE_FEE) price = L2_BASE_FEE + f.maxPriority;
        if (price > type(uint256).max / gas) t.feeOverflows = true;
        else t.fee = price * gas;
        return (Check.Ok, t);
    }

    // ------------------------------------------------------------------ envelope

    /// @dev Strict decoding of the envelope into `f` (Malformed / Unsupported on failure).
    function _parse(bytes calldata raw, Fields memory f) private pure returns (Check) {
        if (raw.length == 0) return Check.Malformed;
        uint8 first = uint8(raw[0]);
        uint256 body;
        if (first >= 0xc0) {
            body = 0; // legacy: the list itself
        } else if (first == 1 || first == 2) {
            f.txType = first;
            body = 1;
        } else if (first < 0x80) {
            return Check.Unsupported; // another typed envelope (EIP-4844, EIP-7702, ...)
        } else {
            return Check.Malformed;
        }
        (bool ok, uint256 list) = _item(raw, body, raw.length);
        if (!ok || !_isList(list) || _end(list) != raw.length) return Check.Malformed;
        uint256 want = f.txType == 0 ? 9 : (f.txType == 1 ? 11 : 12);
        uint256[] memory items = new uint256[](want);
        if (!_walk(raw, _start(list), _end(list), items)) return Check.Malformed;
        return _fields(raw, items, f) ? _signingHash(raw, items, f) : Check.Malformed;
    }

    /// @dev The top-level items of the list payload [pos, end) into `items`: each parses
    ///      ({_item}), each ends within the list, together they fill it exactly, and there are
    ///      exactly `items.length` of them.
    function _walk(bytes calldata raw, uint256 pos, uint256 end, uint256[] memory items)
        private
        pure
        returns (bool)
    {
        uint256 n = 0;
        uint256 want = items.length;
        while (pos < end) {
            if (n == want) return false; // too many fields
            (bool ok, uint256 it) = _item(raw, pos, end);
            if (!ok) return false;
            assembly ("memory-safe") {
                mstore(add(add(items, 0x20), shl(5, n)), it) // items[n] = it; n < want
            }
            pos = it & type(uint64).max; // the item's end
            unchecked {
                n++;
            }
        }
        return n == want;
    }

    /// @dev Read the typed fields; false if one is not in canonical form.
    function _fields(bytes calldata raw, uint256[] memory items, Fields memory f) private pure returns (bool ok) {
        // Indices are within the 9..12 items; v - 35 only when v >= 35: no overflow.
        unchecked {
            uint256 i = f.txType == 0 ? 0 : 1; // index of the nonce
            bool okAll = true;
            (ok, f.nonce) = _uint(raw, items[i]);
            okAll = okAll && ok;
            if (f.txType == 2) {
                (ok, f.maxPriority) = _uint(raw, items[2]);
                okAll = okAll && ok;
                (ok, f.maxFee) = _uint(raw, items[3]);
                okAll = okAll && ok;
                i += 1;
            } else {
                (ok, f.maxFee) = _uint(raw, items[i + 1]);
                okAll = okAll && ok;
                f.maxPriority = f.maxFee;
            }
            (ok, f.gasLimit) = _uint(raw, items[i + 2]);
            okAll = okAll && ok;
            uint256 to = items[i + 3];
            uint256 toLen = _end(to) - _start(to);
            if (_isList(to) || (toLen != 0 && toLen != 20)) return false;
            f.hasTo = toLen == 20;
            if (f.hasTo) f.to = address(bytes20(raw[_start(to):_end(to)]));
            (ok, f.value) = _uint(raw, items[i + 4]);
            okAll = okAll && ok;
            uint256 data = items[i + 5];
            if (_isList(data)) return false;
            (f.dataStart, f.dataEnd) = (_start(data), _end(data));
            f.accessListFits = true;
            if (f.txType != 0) {
                uint256 al = items[i + 6];
                if (!_isList(al)) return false;
                (ok, f.accessListFits) = _accessList(raw, _start(al), _end(al));
                if (!ok) return false;
            }
            uint256 v;
            uint256 last = items.length;
            (ok, v) = _uint(raw, items[last - 3]);
            okAll = okAll && ok;
            (ok, f.r) = _uint(raw, items[last - 2]);
            okAll = okAll && ok;
            (ok, f.s) = _uint(raw, items[last - 1]);
            okAll = okAll && ok;
            if (f.txType == 0) {
                // EIP-155: v = 35 + 2 chainId + parity; 27/28 is pre-EIP-155 (no chain id).
                if (v == 27 || v == 28) {
                    f.hasChainId = false;
                    f.parity = v - 27;
                } else if (v >= 35) {
                    f.hasChainId = true;
                    f.chainId = (v - 35) >> 1;
                    f.parity = (v - 35) & 1;
                } else {
                    return false;
                }
            } else {
                (ok, f.chainId) = _uint(raw, items[0]);
                okAll = okAll && ok;
                if (v > 1) return false;
                f.hasChainId = true;
                f.parity = v;
            }
            return okAll;
        }
    }

    /// @dev The access list payload [pos, end): entries `[address, [storageKey, ...]]`, an
    ///      address a string of 20 bytes, a key one of 32 (else ok = false: malformed).
    ///      fits = false, and the walk stops, at the first entry or key past the caps: what
    ///      follows is not read (twin of ethtx._access_list).
    function _accessList(bytes calldata raw, uint256 pos, uint256 end) private pure returns (bool ok, bool fits) {
        // Counts stay below the caps; offsets are within calldata: no overflow.
        unchecked {
            uint256 entries = 0;
            uint256 keys = 0;
            while (pos < end) {
                if (entries == MAX_ACCESS_LIST_ADDRESSES) return (true, false);
                uint256 e;
                (ok, e) = _item(raw, pos, end);
                if (!ok || !_isList(e)) return (false, false);
                // A 20-byte string has one canonical encoding: 0x94 ‖ 20 bytes.
                uint256 a = _start(e);
                if (_end(e) - a < 21 || uint8(raw[a]) != 0x94) return (false, false);
                (ok, fits, keys) = _storageKeys(raw, a + 21, _end(e), keys);
                if (!ok || !fits) return (ok, fits);
                pos = _end(e);
                entries++;
            }
            return (true, true);
        }
    }

    /// @dev The `[storageKey, ...]` list at `pos`, which must end the entry at `end`, after
    ///      `keys` keys of earlier entries: its keys are 32-byte strings; fits = false at the
    ///      first key past {MAX_ACCESS_LIST_STORAGE_KEYS}. Returns the new count.
    function _storageKeys(bytes calldata raw, uint256 pos, uint256 end, uint256 keys)
        private
        pure
        returns (bool ok, bool fits, uint256)
    {
        unchecked {
            uint256 k;
            (ok, k) = _item(raw, pos, end);
            if (!ok || !_isList(k) || _end(k) != end) return (false, false, keys);
            for (pos = _start(k); pos < end; keys++) {
                if (keys == MAX_ACCESS_LIST_STORAGE_KEYS) return (true, false, keys);
                // A 32-byte string has one canonical encoding: 0xa0 ‖ 32 bytes (what _item
                // accepts as a 32-byte string, without its general decoding).
                if (end - pos < 33 || uint8(raw[pos]) != 0xa0) return (false, false, keys);
                pos += 33;
            }
            return (true, true, keys);
        }
    }

    /// @dev The signing hash: the encoded signed fields re-wrapped in a list header (legacy:
    ///      followed by rlp(chainId), 0x80, 0x80), prefixed by the type byte for typed envelopes.
    function _signingHash(bytes calldata raw, uint256[] memory items, Fields memory f) private pure returns (Check) {
        uint256 spanStart = _offset(items[0]);
        uint256 spanEnd = _offset(items[items.length - 3]); // the v / yParity item
        bytes memory tail;
        if (f.txType == 0 && f.hasChainId) tail = abi.encodePacked(_rlpUint(f.chainId), hex"8080");
        bytes memory header = _rlpLength(spanEnd - spanStart + tail.length, 0xc0);
        if (f.txType == 0) {
            f.sigHash = keccak256(abi.encodePacked(header, raw[spanStart:spanEnd], tail));
        } else {
            f.sigHash = keccak256(abi.encodePacked(f.txType, header, raw[spanStart:spanEnd]));
        }
        return Check.Ok;
    }

    // ------------------------------------------------------------------ kinds

    /// @dev Which of the four kinds `(to, value, data)` is (Unsupported if none); fills `t`.
    function _classify(bytes calldata raw, Fields memory f, Tx memory t)
        private
        pure
        returns (Check check, uint256 gas)
    {
        // Data offsets are within calldata (< 2^64): no overflow.
        unchecked {
            if (!f.accessListFits || !f.hasTo) return (Check.Unsupported, 0);
            uint256 ds = f.dataStart;
            uint256 len = f.dataEnd - ds;
            bytes4 sel = len >= 4 ? bytes4(raw[ds:ds + 4]) : bytes4(0);
            bool clean;
            if (f.to == WITHDRAW_ADDRESS) {
                if (sel == WITHDRAW_SELECTOR && len == 36) {
                    (clean, t.recipient) = _address(raw, ds + 4);
                    if (!clean) return (Check.Unsupported, 0);
                    (t.kind, t.token, t.amount) = (ETH_WITHDRAW, address(0), f.value);
                    return (Check.Ok, GAS_ETH_WITHDRAW);
                }
                if (sel == WITHDRAW_TOKEN_SELECTOR && len == 100 && f.value == 0) {
                    bool cleanRecipient;
                    (clean, t.token) = _address(raw, ds + 4);
                    (cleanRecipient, t.recipient) = _address(raw, ds + 68);
                    if (!clean || !cleanRecipient || t.token == address(0)) return (Check.Unsupported, 0);
                    (t.kind, t.amount) = (TOKEN_WITHDRAW, uint256(bytes32(raw[ds + 36:ds + 68])));
                    return (Check.Ok, GAS_TOKEN_WITHDRAW);
                }
                return (Check.Unsupported, 0);
            }
            if (len == 0) {
                (t.kind, t.token, t.recipient, t.amount) = (ETH_TRANSFER, address(0), f.to, f.value);
                return (Check.Ok, GAS_ETH_TRANSFER);
            }
            if (len == 68 && sel == TRANSFER_SELECTOR && f.value == 0) {
                (clean, t.recipient) = _address(raw, ds + 4);
                t.token = address(uint160(f.to) - TOKEN_ALIAS_OFFSET); // the inverse alias, mod 2^160
                if (!clean || t.token == address(0)) return (Check.Unsupported, 0);
                (t.kind, t.amount) = (TOKEN_TRANSFER, uint256(bytes32(raw[ds + 36:ds + 68])));
                return (Check.Ok, GAS_TOKEN_TRANSFER);
            }
            return (Check.Unsupported, 0);
        }
    }

    // ------------------------------------------------------------------ RLP

    /// @dev The item at `pos`, which must end by `end` (`end <= b.length`). Canonical form only:
    ///      a single byte below 0x80 encodes itself, the long forms are used for 56 bytes and
    ///      more only, a length has no leading zero byte. Returns the item word ({_pack}).
    ///      In assembly because it runs for every field on the fraud-proof path (about 870 gas an
    ///      item in Solidity, a third of that here); every read is at an offset below `end`.
    function _item(bytes calldata b, uint256 pos, uint256 end) private pure returns (bool ok, uint256 it) {
        assembly ("memory-safe") {
            // One pass; `break` leaves ok = false.
            for {} 1 {} {
                if iszero(lt(pos, end)) { break }
                let b0 := byte(0, calldataload(add(b.offset, pos)))
                if lt(b0, 0x80) {
                    // A single byte: its own encoding, payload [pos, pos + 1).
                    ok := 1
                    it := or(shl(128, pos), or(shl(64, pos), add(pos, 1)))
                    break
                }
                let isList := iszero(lt(b0, 0xc0))
                let short := sub(b0, add(0x80, mul(isList, 0x40))) // 0..63
                let start
                let length
                switch lt(short, 56)
                case 1 {
                    // Short form: the length is in the prefix byte.
                    start := add(pos, 1)
                    length := short
                    if and(iszero(isList), eq(length, 1)) {
                        // One byte below 0x80 must have been written as itself.
                        if iszero(lt(start, end)) { break }
                        if lt(byte(0, calldataload(add(b.offset, start))), 0x80) { break }
                    }
                }
                default {
                    // Long form: ll = 1..8 big-endian length bytes, no leading zero, >= 56.
                    let ll := sub(short, 55)
                    start := add(add(pos, 1), ll)
                    if gt(start, end) { break }
                    let w := calldataload(add(b.offset, add(pos, 1)))
                    if iszero(byte(0, w)) { break }
                    length := shr(sub(256, mul(8, ll)), w)
                    if lt(length, 56) { break }
                }
                if gt(length, sub(end, start)) { break }
                ok := 1
                it := or(shl(192, isList), or(shl(128, pos), or(shl(64, start), add(start, length))))
                break
            }
        }
    }

    /// @dev A canonical integer: a string of at most 32 bytes without a leading zero byte.
    function _uint(bytes calldata b, uint256 it) private pure returns (bool ok, uint256 x) {
        if (_isList(it)) return (false, 0);
        (uint256 start, uint256 end) = (_start(it), _end(it)); // start <= end <= b.length
        assembly ("memory-safe") {
            let len := sub(end, start)
            if iszero(gt(len, 32)) {
                switch len
                case 0 { ok := 1 }
                default {
                    // The item's bytes left-aligned in a word (what follows is shifted out).
                    let w := calldataload(add(b.offset, start))
                    if byte(0, w) {
                        ok := 1
                        x := shr(sub(256, mul(8, len)), w)
                    }
                }
            }
        }
    }

    /// @dev Item word of a header at `offset` with payload [start, end) (all < 2^64: calldata).
    function _pack(bool isList, uint256 offset, uint256 start, uint256 end) private pure returns (uint256) {
        return (isList ? 1 << 192 : 0) | (offset << 128) | (start << 64) | end;
    }

    function _end(uint256 it) private pure returns (uint256) {
        return it & type(uint64).max;
    }

    function _start(uint256 it) private pure returns (uint256) {
        return (it >> 64) & type(uint64).max;
    }

    function _offset(uint256 it) private pure returns (uint256) {
        return (it >> 128) & type(uint64).max;
    }

    function _isList(uint256 it) private pure returns (bool) {
        return it >> 192 != 0;
    }

    /// @dev An ABI address word at `off` (clean = zero high 12 bytes).
    function _address(bytes calldata b, uint256 off) private pure returns (bool clean, address a) {
        uint256 w = uint256(bytes32(b[off:off + 32]));
        return (w >> 160 == 0, address(uint160(w)));
    }

    /// @dev RLP header of a payload of `n` bytes (`offset` 0x80 for strings, 0xc0 for lists).
    function _rlpLength(uint256 n, uint8 offset) private pure returns (bytes memory) {
        if (n < 56) return abi.encodePacked(uint8(offset + n));
        bytes memory len = _minimal(n);
        return abi.encodePacked(uint8(offset + 55 + len.length), len);
    }

    /// @dev RLP of an integer (0 is the empty string).
    function _rlpUint(uint256 x) private pure returns (bytes memory) {
        if (x == 0) return hex"80";
        if (x < 0x80) return abi.encodePacked(uint8(x));
        bytes memory bs = _minimal(x);
        return abi.encodePacked(_rlpLength(bs.length, 0x80), bs);
    }

    /// @dev Minimal big-endian bytes of x > 0.
    function _minimal(uint256 x) private pure returns (bytes memory out) {
        uint256 len = 0;
        for (uint256 y = x; y != 0; y >>= 8) {
            len++;
        }
        out = new bytes(len);
        for (uint256 i = len; i > 0; i--) {
            out[i - 1] = bytes1(uint8(x));
            x >>= 8;
        }
    }
}
