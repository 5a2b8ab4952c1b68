#!/usr/bin/env python3
"""Check a `dppsync ledger proof` without dppsync:

    python3 verify-proof.py proof.json [--key VERIFIER_KEY]

Inclusion (RFC 9162 2.1.3.2) or consistency (2.1.4.2); exit 0 valid, 1 invalid,
2 a usage error (no readable proof, --key with a consistency proof).
An inclusion proof is checked against the root in its checkpoint; with --key (the
pinned verifier key, `dppsync ledger key`: <name>+<hex key id>+<base64(0x01 || key)>)
the checkpoint's Ed25519 signature is checked too (RFC 8032, in pure Python below):
without it, "valid" says nothing of who signed the checkpoint.
Python's standard library only."""
import base64, hashlib, json, sys

# Ed25519 verification, RFC 8032 section 6 (the reference implementation, verify only).
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)

def _add(a, b):
    A, B = (a[1] - a[0]) * (b[1] - b[0]) % P, (a[1] + a[0]) * (b[1] + b[0]) % P
    C, Dd = 2 * a[3] * b[3] * D % P, 2 * a[2] * b[2] % P
    E, F, G, H = B - A, Dd - C, Dd + C, B + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)

def _mul(s, point):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1: q = _add(q, point)
        point, s = _add(point, point), s >> 1
    return q

def _x(y, sign):
    if y >= P: return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 == 0: return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P: x = x * SQRT_M1 % P
    if (x * x - x2) % P: return None
    return P - x if (x & 1) != sign else x

def _point(s):
    if len(s) != 32: return None
    y = int.from_bytes(s, "little")
    x = _x(y & ((1 << 255) - 1), y >> 255)
    return None if x is None else (x, y & ((1 << 255) - 1), 1, x * (y & ((1 << 255) - 1)) % P)

_GY = 4 * pow(5, P - 2, P) % P
_G = (_x(_GY, 0), _GY, 1, _x(_GY, 0) * _GY % P)

def ed25519_verify(public, message, signature):
    a, r = _point(public), _point(signature[:32])
    if a is None or r is None or len(signature) != 64: return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L: return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    left, right = _mul(s, _G), _add(r, _mul(h, a))
    return (left[0] * right[2] - right[0] * left[2]) % P == 0 and (left[1] * right[2] - right[1] * left[2]) % P == 0

def checkpoint_signed(note, key):
    """The signed note carries a valid signature by the verifier key `key` over its body."""
    name, key_id, encoded = key.strip().split("+", 2)
    raw = base64.b64decode(encoded, validate=True)
    if raw[:1] != b"\x01" or len(raw) != 33: raise ValueError("not an Ed25519 verifier key")
    public = raw[1:]
    if hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4].hex() != key_id: raise ValueError("the key id does not match the key")
    body, blank, signatures = note.rpartition("\n\n")
    if not blank: return False
    for line in signatures.split("\n"):
        fields = line.split(" ")
        if len(fields) != 3 or fields[0] != "\u2014" or fields[1] != name: continue
        try: blob = base64.b64decode(fields[2], validate=True)
        except ValueError: continue  # a malformed line is no signature; another may be
        if blob[:4].hex() == key_id and ed25519_verify(public, (body + "\n").encode(), blob[4:]): return True
    return False

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

def usage(message):
    print("verify-proof.py: " + message, file=sys.stderr)
    sys.exit(2)

args, key = [], None
argv = iter(sys.argv[1:])
for arg in argv:
    if arg == "--key": key = next(argv, None) or usage("--key takes the verifier key (`dppsync ledger key`)")
    elif arg.startswith("--key="): key = arg[len("--key="):] or usage("--key takes the verifier key (`dppsync ledger key`)")
    elif arg.startswith("-") and arg != "-": usage("unknown option " + arg)
    else: args.append(arg)
if len(args) > 1: usage("one proof file at a time")
try:
    proof = json.load(sys.stdin if not args or args[0] == "-" else open(args[0]))
except (OSError, ValueError, RecursionError) as error:
    usage("cannot read the proof: %s" % error)
if not isinstance(proof, dict): usage("the proof is not a JSON object (`dppsync ledger proof` writes one)")
if key is not None and "leafIndex" not in proof:
    usage("--key checks an inclusion proof's checkpoint; a consistency proof carries none (compare its roots with the checkpoints of those sizes)")
try:
    ok = inclusion(proof) if "leafIndex" in proof else consistency(proof)
    signed = ok and key is not None and checkpoint_signed(proof["checkpoint"], key)
except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
    print("INVALID: the proof or the key is malformed (%s)" % error)
    sys.exit(1)
if not ok: print("INVALID")
elif key is None: print("valid (the checkpoint's signature is not checked: give --key)" if "leafIndex" in proof else "valid")
elif signed: print("valid, checkpoint signed by " + key.split("+")[0])
else: print("INVALID: the checkpoint is not signed by the given key")
sys.exit(0 if ok and (key is None or signed) else 1)
