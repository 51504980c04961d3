#!/usr/bin/env python3
"""Sign and verify nhi-dns proofs (DESIGN.md section 3) from Python, with the standard library and
`cryptography` only: the reference for callers in other languages.

  nhi_proof.py sign --key-file billing.jwk --kid k1 --iss billing.prod.auth.example.com \\
      --aud ledger.prod.auth.example.com [--method POST --url https://... --body-file body.json]
  nhi_proof.py verify --key-type ed25519 --public-key <p= of the record> [--audience ...] TOKEN

sign prints the token: send it as "Authorization: NHI <token>", one per request, and the body
file's bytes unchanged. verify checks typ, alg (fixed by the key type), signature, aud, iat/exp
and, with --body-file, bh; it prints the claims as JSON, or "denied: <reason>" with exit code 1.
htm/htu are the callee's to compare with its own request.
"""
import argparse, base64, hashlib, json, secrets, sys, time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

ALGS = {"ed25519": ("EdDSA", "Ed25519"), "p256": ("ES256",)}  # the record's k= fixes the alg
CLOCK_SKEW, MAX_LIFETIME = 60, 300


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact(value) -> str:  # JSON without whitespace, members in insertion order
    return b64url(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def body_hash(path: str) -> str:
    with open(path, "rb") as body:
        return b64url(hashlib.sha256(body.read()).digest())


def sign(args) -> str:
    with open(args.key_file) as file:
        jwk = json.load(file)
    d, key_type = unb64url(jwk["d"]), "ed25519" if jwk.get("crv") == "Ed25519" else "p256"
    alg = args.alg or ALGS[key_type][0]
    if alg not in ALGS[key_type]:
        raise ValueError(f"{key_type} keys sign {' or '.join(ALGS[key_type])}, not {alg}")
    iat = int(time.time()) if args.iat is None else args.iat
    aud = [name.lower().rstrip(".") for name in args.aud]
    claims = {"iss": args.iss.lower().rstrip("."), "aud": aud[0] if len(aud) == 1 else aud,
              "iat": iat, "exp": iat + args.lifetime, "jti": args.jti or secrets.token_urlsafe(16)}
    if args.body_file is not None:
        claims["bh"] = body_hash(args.body_file)
    if args.method:
        claims["htm"] = args.method.upper()
    if args.url:
        claims["htu"] = args.url  # scheme://host/path as the request is sent
    signing_input = compact({"alg": alg, "kid": args.kid, "typ": "nhi+jwt"}) + "." + compact(claims)
    if key_type == "ed25519":
        signature = ed25519.Ed25519PrivateKey.from_private_bytes(d).sign(signing_input.encode())
    else:  # ES256: raw r||s, 32 bytes each (RFC 7518 section 3.4), not the DER cryptography returns
        key = ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())
        r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return signing_input + "." + b64url(signature)


def verify(args) -> dict:
    try:
        header_part, claims_part, signature_part = args.token.split(".")
        header, claims = json.loads(unb64url(header_part)), json.loads(unb64url(claims_part))
        signature, signing_input = unb64url(signature_part), f"{header_part}.{claims_part}".encode()
    except ValueError:
        raise ValueError("malformed_proof")
    if str(header.get("typ", "")).lower() not in ("nhi+jwt", "application/nhi+jwt"):
        raise ValueError("bad_typ")
    if header.get("alg") not in ALGS[args.key_type]:
        raise ValueError("bad_alg")
    raw = base64.b64decode(args.public_key)  # p=: raw 32 bytes (ed25519) or SPKI DER (p256)
    try:
        if args.key_type == "ed25519":
            ed25519.Ed25519PublicKey.from_public_bytes(raw).verify(signature, signing_input)
        else:
            key = serialization.load_der_public_key(raw)
            if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1" or len(signature) != 64:
                raise InvalidSignature()
            rs = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            key.verify(rs, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise ValueError("bad_signature")
    now, aud = int(time.time()) if args.now is None else args.now, claims.get("aud")
    if args.audience is not None and aud != args.audience and not (isinstance(aud, list) and args.audience in aud):
        raise ValueError("wrong_audience")
    if claims["iat"] > now + CLOCK_SKEW:
        raise ValueError("not_yet_valid")
    if claims["exp"] <= now - CLOCK_SKEW:
        raise ValueError("expired")
    if claims["exp"] - claims["iat"] > MAX_LIFETIME:
        raise ValueError("lifetime_too_long")
    if args.body_file is not None and claims.get("bh") != body_hash(args.body_file):
        raise ValueError("body_mismatch")
    return claims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    signer = commands.add_parser("sign", help="print a proof")
    signer.add_argument("--key-file", required=True, help="private JWK (kty, crv, d[, x, y]), e.g. from nhi-dns keygen")
    signer.add_argument("--kid", required=True, help="kid of the public key in the caller's record")
    signer.add_argument("--iss", required=True, help="caller identity name")
    signer.add_argument("--aud", required=True, action="append", help="callee identity name (repeatable)")
    signer.add_argument("--alg", choices=["EdDSA", "Ed25519", "ES256"])
    signer.add_argument("--method")
    signer.add_argument("--url")
    signer.add_argument("--body-file")
    signer.add_argument("--lifetime", type=int, default=60)
    signer.add_argument("--iat", type=int, help="issue time, Unix seconds (default now)")
    signer.add_argument("--jti", help="proof id, 16..128 characters (default 16 random bytes)")
    checker = commands.add_parser("verify", help="verify a proof and print its claims")
    checker.add_argument("--key-type", required=True, choices=sorted(ALGS), help="k= of the record")
    checker.add_argument("--public-key", required=True, help="p= of the record (base64)")
    checker.add_argument("--audience", help="this callee's identity name")
    checker.add_argument("--now", type=int, help="Unix seconds (default now)")
    checker.add_argument("--body-file", help="the request body: bh must be its SHA-256")
    checker.add_argument("token")
    args = parser.parse_args()
    try:
        print(sign(args) if args.command == "sign" else json.dumps(verify(args), ensure_ascii=False))
    except ValueError as error:
        sys.exit(f"{'denied' if args.command == 'verify' else 'cannot sign'}: {error}")


if __name__ == "__main__":
    main()
