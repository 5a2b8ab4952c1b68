#!/usr/bin/env python3
"""Check a `dppsync ledger proof` without dppsync: python3 verify-proof.py proof.json
Inclusion (RFC 9162 2.1.3.2) or consistency (2.1.4.2); exit 0 valid, 1 invalid.
An inclusion proof is checked against the root in its checkpoint (verify the
checkpoint's signature with the pinned key separately, e.g. with a note verifier)."""
import base64, hashlib, json, sys

def node(l, r): return hashlib.sha256(b"\x01" + l + r).digest()

def inclusion(p):
    fn, sn, r = p["leafIndex"], p["treeSize"] - 1, bytes.fromhex(p["leafHash"])
    lines = p["checkpoint"].split("\n")
    if int(lines[1]) != p["treeSize"] or base64.b64decode(lines[2]).hex() != p["rootHash"] or not 0 <= fn <= sn: return False
    for h in map(bytes.fromhex, p["hashes"]):
        if sn == 0: return False
        if fn & 1 or fn == sn:
            r = node(h, r)
            while fn and not fn & 1: fn, sn = fn >> 1, sn >> 1
        else: r = node(r, h)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r.hex() == p["rootHash"]

def consistency(p):
    m, n, path = p["oldSize"], p["newSize"], [bytes.fromhex(h) for h in p["hashes"]]
    old, new = bytes.fromhex(p["oldRoot"]), bytes.fromhex(p["newRoot"])
    if not 0 <= m <= n: return False
    if m == n: return not path and old == new
    if m == 0: return not path and old == hashlib.sha256(b"").digest()  # the empty tree's root
    if not path: return False
    if m & (m - 1) == 0: path = [old] + path
    fn, sn = m - 1, n - 1
    while fn & 1: fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0: return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while fn and not fn & 1: fn, sn = fn >> 1, sn >> 1
        else: sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old and sr == new

proof = json.load(open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin)
ok = inclusion(proof) if "leafIndex" in proof else consistency(proof)
print("valid" if ok else "INVALID")
sys.exit(0 if ok else 1)
