#!/usr/bin/env python3
"""Independent RFC 6962 vectors (hashlib only) for the Swift Merkle tests.

Leaves are the RFC 6962 test inputs (transparency-dev's merkle testdata) cycled with
their index, so trees of 1..64 leaves all differ. Writes
Tests/DPPSyncTests/Ledger/Fixtures/merkle-vectors.json.
"""
import hashlib, json, os

RFC_INPUTS = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]

def leaf_data(i):
    return bytes.fromhex(RFC_INPUTS[i]) if i < 8 else bytes.fromhex(RFC_INPUTS[i % 8]) + i.to_bytes(2, "big")

def lh(d): return hashlib.sha256(b"\x00" + d).digest()
def nh(l, r): return hashlib.sha256(b"\x01" + l + r).digest()

def split(n):
    k = 1
    while k * 2 < n: k *= 2
    return k

def mth(hs):
    if not hs: return hashlib.sha256(b"").digest()
    if len(hs) == 1: return hs[0]
    k = split(len(hs))
    return nh(mth(hs[:k]), mth(hs[k:]))

def path(m, hs):
    if len(hs) <= 1: return []
    k = split(len(hs))
    return path(m, hs[:k]) + [mth(hs[k:])] if m < k else path(m - k, hs[k:]) + [mth(hs[:k])]

def subproof(m, hs, b):
    n = len(hs)
    if m == n: return [] if b else [mth(hs)]
    k = split(n)
    return subproof(m, hs[:k], b) + [mth(hs[k:])] if m <= k else subproof(m - k, hs[k:], False) + [mth(hs[:k])]

def proof(m, hs): return [] if m in (0, len(hs)) else subproof(m, hs, True)

hashes = [lh(leaf_data(i)) for i in range(64)]
sizes = list(range(1, 17)) + [31, 32, 33, 63, 64]
out = {
    "leaves": [leaf_data(i).hex() for i in range(64)],
    "roots": [mth(hashes[:n]).hex() for n in range(0, 65)],
    "inclusion": [{"size": n, "index": i, "path": [h.hex() for h in path(i, hashes[:n])]} for n in sizes for i in range(n)],
    "consistency": [{"old": m, "new": n, "proof": [h.hex() for h in proof(m, hashes[:n])]} for n in sizes for m in range(0, n + 1)],
}
target = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests/DPPSyncTests/Ledger/Fixtures/merkle-vectors.json")
with open(target, "w") as f: json.dump(out, f, separators=(",", ":"))
