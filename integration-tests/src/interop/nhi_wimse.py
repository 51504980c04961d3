#!/usr/bin/env python3
"""The WIMSE profile of nhi-dns (DESIGN.md section 3a) from Python, with the standard library and
`cryptography` only (boto3 only to sign with AWS KMS): the reference for callers in other
languages. Helpers (base64url, JSON segments, body hash) are nhi_proof.py's.

A caller makes a short-lived Ed25519 key, has a record key sign a workload identity token (WIT,
typ wit+jwt) that confirms it, and signs one workload proof token (WPT, typ wpt+jwt) per request
with the short-lived key; both go as headers:

  Workload-Identity-Token: <WIT>
  Workload-Proof-Token: <WPT>

  nhi_wimse.py keygen > cnf.jwk                      # the short-lived key (keep it in memory)
  nhi_wimse.py sign-wit --kms-key-id alias/billing --key-type ed25519 --kid kms-2026-01 \\
      --name billing.prod.auth.example.com --cnf-key-file cnf.jwk > wit.jwt
  nhi_wimse.py sign-wpt --wit "$(cat wit.jwt)" --key-file cnf.jwk --aud ledger.prod.auth.example.com \\
      [--method POST --url https://... --body-file body.json]
  nhi_wimse.py verify --identity billing.prod.auth.example.com --record "v=NHI1; ..." \\
      --audience ledger.prod.auth.example.com [--body-file ...] WIT WPT

sign-wit signs with AWS KMS (--kms-key-id; boto3, credentials as boto3 finds them) or with a local
private JWK (--key-file, for tests and keys outside KMS); wit-input and wit-assemble split it for
signing elsewhere. verify checks the pair against the caller's NHI1 records (as DNS answers them)
in the order core's verifyWorkloadIdentity and verifyWorkloadProof do, and prints the WPT claims
with the WIT's iss as JSON, or "denied: <reason>" with exit code 1.
"""
import argparse, base64, hashlib, json, re, secrets, sys, time
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

sys.dont_write_bytecode = True  # importing nhi_proof must not leave __pycache__ in the repository
from nhi_proof import ALGS, b64url, compact, unb64url  # noqa: E402

WIT_TYPES, WPT_TYPES = ("wit+jwt", "application/wit+jwt"), ("wpt+jwt", "application/wpt+jwt")
DEFAULT_WIT_LIFETIME, MAX_WIT_LIFETIME = 3600, 86_400  # one hour as STS tokens; a day at most
CLOCK_SKEW, MAX_LIFETIME = 60, 300
MAX_TOKEN_CHARS, MIN_JTI, MAX_JTI = 8192, 16, 128
KMS_ALGORITHMS = {"ed25519": "ED25519_SHA_512", "p256": "ECDSA_SHA_256"}
LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# Ed25519 keys anyone can sign for (small order, and their non-canonical encodings): refused as
# core's keys.ts refuses them, so no verifier is ever asked to trust one.
SMALL_ORDER = {bytes.fromhex(h) for h in (
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
)}


class Denied(ValueError):
    """A verification failure; args[0] is core's denial reason."""


# --- names -----------------------------------------------------------------------------------

def canonical(name: str) -> str:
    return name.lower().rstrip(".")


def identity_labels(name: str):
    """(service, environment, zone) of <service>.<environment>.<zone>, or None."""
    labels = canonical(name).split(".")
    if len(labels) < 4 or not all(LABEL.match(label) for label in labels):
        return None  # a zone has at least two labels
    return labels[0], labels[1], ".".join(labels[2:])


def workload_uri(name: str) -> str:
    """billing.prod.auth.example.com -> wimse://auth.example.com/prod/billing (the WIT's sub)."""
    labels = identity_labels(name)
    if labels is None:
        raise ValueError("an identity name is <service>.<environment>.<zone>")
    service, environment, zone = labels
    return f"wimse://{zone}/{environment}/{service}"


def identity_name_of_workload_uri(uri) -> "str | None":
    """The identity name a workload URI maps to; None for anything workload_uri does not make."""
    if not isinstance(uri, str) or not uri.startswith("wimse://"):
        return None
    parts = uri[len("wimse://"):].split("/")
    if len(parts) != 3:
        return None
    zone, environment, service = parts
    name = f"{service}.{environment}.{zone}"
    # Round trip: only the one spelling workload_uri writes (lower case, no trailing dot) maps back.
    return name if identity_labels(name) is not None and workload_uri(name) == uri else None


def token_hash(token: str) -> str:
    """base64url SHA-256 of a token's ASCII: the WPT's wth."""
    return b64url(hashlib.sha256(token.encode("ascii")).digest())


# --- signing -----------------------------------------------------------------------------------

def ed25519_private_key(jwk: dict) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(unb64url(jwk["d"]))


def ed25519_public_x(key) -> str:
    public = key.public_key() if isinstance(key, ed25519.Ed25519PrivateKey) else key
    return b64url(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def wit_signing_input(name: str, kid: str, key_type: str, cnf_key, iat=None,
                      lifetime: int = DEFAULT_WIT_LIFETIME, jti=None) -> str:
    """The bytes a WIT's signature covers (header.claims), for KMS Sign with MessageType RAW.
    cnf_key is the short-lived Ed25519 key (private or public); only its public half is named."""
    if not 0 < lifetime <= MAX_WIT_LIFETIME:
        raise ValueError(f"WIT lifetime must be 1..{MAX_WIT_LIFETIME} seconds")
    iss = canonical(name)
    iat = int(time.time()) if iat is None else iat
    jti = secrets.token_urlsafe(16) if jti is None else jti
    if not MIN_JTI <= len(jti) <= MAX_JTI:
        raise ValueError(f"jti must be {MIN_JTI}..{MAX_JTI} characters")
    header = {"alg": ALGS[key_type][0], "kid": kid, "typ": "wit+jwt"}  # k= fixes alg: EdDSA or ES256
    claims = {"iss": iss, "sub": workload_uri(iss), "iat": iat, "exp": iat + lifetime, "jti": jti,
              "cnf": {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": ed25519_public_x(cnf_key), "alg": "EdDSA"}}}
    return compact(header) + "." + compact(claims)


def ecdsa_der_to_jose(der: bytes, size: int = 32) -> bytes:
    """KMS ECDSA_SHA_256 returns DER (SEQUENCE of two INTEGERs); JOSE wants r||s, 32 bytes each."""
    r, s = decode_dss_signature(der)
    if r >= 1 << (8 * size) or s >= 1 << (8 * size):
        raise ValueError("not a P-256 signature")
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def assemble_wit(signing_input: str, signature: bytes) -> str:
    """The WIT from its signing input and a raw 64-byte signature (Ed25519, or ES256 as r||s)."""
    if len(signature) != 64:
        raise ValueError("a WIT signature is 64 bytes (convert a DER ECDSA signature with ecdsa_der_to_jose)")
    return signing_input + "." + b64url(signature)


def sign_wit(kms, key_id: str, key_type: str, kid: str, name: str, cnf_key, iat=None,
             lifetime: int = DEFAULT_WIT_LIFETIME, jti=None) -> str:
    """A WIT signed by kms.sign: a boto3 KMS client (boto3.client('kms')), or LocalKeyKms."""
    signing_input = wit_signing_input(name, kid, key_type, cnf_key, iat, lifetime, jti)
    response = kms.sign(KeyId=key_id, Message=signing_input.encode("ascii"), MessageType="RAW",
                        SigningAlgorithm=KMS_ALGORITHMS[key_type])
    signature = response["Signature"]
    # KMS returns Ed25519 signatures raw and ECDSA ones as DER.
    return assemble_wit(signing_input, signature if key_type == "ed25519" else ecdsa_der_to_jose(signature))


class LocalKeyKms:
    """Signs as KMS Sign does (same call, same answer: raw Ed25519, DER ECDSA) with a local private
    JWK: for tests, and for record keys held outside KMS."""

    def __init__(self, jwk: dict):
        self.jwk = jwk

    def sign(self, KeyId, Message, MessageType, SigningAlgorithm):  # noqa: N803 (boto3's names)
        if MessageType != "RAW":
            raise ValueError("only RAW messages")
        d = unb64url(self.jwk["d"])
        if SigningAlgorithm == "ED25519_SHA_512" and self.jwk.get("crv") == "Ed25519":
            return {"KeyId": KeyId, "Signature": ed25519.Ed25519PrivateKey.from_private_bytes(d).sign(Message)}
        if SigningAlgorithm == "ECDSA_SHA_256" and self.jwk.get("crv") == "P-256":
            key = ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())
            return {"KeyId": KeyId, "Signature": key.sign(Message, ec.ECDSA(hashes.SHA256()))}
        raise ValueError(f"a {self.jwk.get('crv')} key does not sign {SigningAlgorithm}")


def wit_claims_unverified(wit: str) -> dict:
    """The WIT's claims, not verified: only for a signer checking its own WIT."""
    try:
        claims = json.loads(unb64url(wit.split(".")[1]))
    except (ValueError, IndexError):
        raise ValueError("wit must be a compact JWS")
    if not isinstance(claims, dict):
        raise ValueError("wit must be a compact JWS")
    return claims


def sign_wpt(wit: str, private_key: ed25519.Ed25519PrivateKey, aud, iat=None, lifetime: int = 60,
             jti=None, body=None, method=None, url=None) -> str:
    """One WPT for one request: aud, iat, exp, jti, [bh, htm, htu], wth, signed with the key the WIT
    confirms. body is the request body's bytes (or str, hashed as UTF-8), sent unchanged."""
    cnf = (wit_claims_unverified(wit).get("cnf") or {}).get("jwk") or {}
    if cnf.get("x") != ed25519_public_x(private_key):
        raise ValueError("the private key is not the key the WIT confirms")
    audiences = [canonical(a) for a in ([aud] if isinstance(aud, str) else aud)]
    iat = int(time.time()) if iat is None else iat
    claims = {"aud": audiences[0] if isinstance(aud, str) else audiences, "iat": iat,
              "exp": iat + lifetime, "jti": secrets.token_urlsafe(16) if jti is None else jti}
    if body is not None:
        claims["bh"] = b64url(hashlib.sha256(body.encode("utf-8") if isinstance(body, str) else body).digest())
    if method is not None:
        claims["htm"] = method.upper()
    if url is not None:
        claims["htu"] = url.split("#")[0]  # as sent: scheme://host/path[?query]
    claims["wth"] = token_hash(wit)
    signing_input = compact({"alg": "EdDSA", "typ": "wpt+jwt"}) + "." + compact(claims)
    return signing_input + "." + b64url(private_key.sign(signing_input.encode("ascii")))


# --- verifying ---------------------------------------------------------------------------------

def parse_records(identity: str, records) -> dict:
    """kid -> key of the caller's NHI1 TXT records (DESIGN section 2) as DNS answers them. Records
    of another svc/env, unparsable or weak keys are left out; a kid published twice is left out
    (ambiguous, fail closed). A key with empty p= is revoked (public None)."""
    labels = identity_labels(identity)
    keys, seen = {}, set()
    for text in records:
        tags = {}
        for part in text.split(";"):
            name, _, value = part.strip().partition("=")
            tags[name.strip()] = value.strip()
        if labels is None or tags.get("v") != "NHI1" or (tags.get("svc"), tags.get("env")) != labels[:2]:
            continue
        kid, key_type, p = tags.get("kid"), tags.get("k", "ed25519"), tags.get("p")
        if not kid or key_type not in ALGS or p is None:
            continue
        if kid in seen:
            keys.pop(kid, None)
            continue
        seen.add(kid)
        try:
            public = None if p == "" else load_public_key(key_type, base64.b64decode(p, validate=True))
        except ValueError:
            continue
        exp = tags.get("exp")
        keys[kid] = {"kid": kid, "key_type": key_type, "public": public,
                     "exp": int(exp) if exp and exp.isdigit() else None, "kc": tags.get("kc")}
    return keys


def load_public_key(key_type: str, raw: bytes):
    if key_type == "ed25519":
        y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
        if len(raw) != 32 or raw in SMALL_ORDER or y >= 2**255 - 19:
            raise ValueError("weak or malformed ed25519 key")
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    key = serialization.load_der_public_key(raw)
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("not a P-256 key")
    return key


def decode(token, need_kid_and_iss: bool):
    """(header, claims, signing input, signature) as core's decodeProof / decodeWorkloadProof."""
    if not isinstance(token, str):
        raise Denied("malformed_proof")
    if len(token) > MAX_TOKEN_CHARS:
        raise Denied("proof_too_large")
    parts = token.split(".")
    if len(parts) != 3:
        raise Denied("malformed_proof")

    def json_object(segment):
        try:
            value = json.loads(unb64url(segment))
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    header = json_object(parts[0])
    if header is None or not isinstance(header.get("alg"), str) or header["alg"] == "":
        raise Denied("malformed_proof")
    if "kid" in header and not isinstance(header["kid"], str):
        raise Denied("malformed_proof")
    if not isinstance(header.get("typ"), str):
        raise Denied("bad_typ")  # a missing typ is a wrong one
    if "crit" in header:
        raise Denied("malformed_proof")
    claims = json_object(parts[1])
    try:
        signature = unb64url(parts[2])
    except ValueError:
        signature = None
    if claims is None or signature is None:
        raise Denied("malformed_proof")
    if need_kid_and_iss and (not isinstance(header.get("kid"), str) or not isinstance(claims.get("iss"), str)):
        raise Denied("malformed_proof")
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def check_signed_by(header, signing_input, signature, key, now, types):
    """revoked_key, expired_key, bad_typ, bad_alg (k= fixes it), bad_signature: core's order."""
    if key["public"] is None:
        raise Denied("revoked_key")
    if key["exp"] is not None and key["exp"] <= now:
        raise Denied("expired_key")
    if header["typ"].lower() not in types:
        raise Denied("bad_typ")
    if header["alg"] not in ALGS[key["key_type"]]:
        raise Denied("bad_alg")
    try:
        if len(signature) != 64:
            raise InvalidSignature()
        if key["key_type"] == "ed25519":
            key["public"].verify(signature, signing_input)
        else:
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            key["public"].verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Denied("bad_signature")


def is_seconds(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= 2**53 - 1


def normalise_url(url):
    """scheme://host/path (no query, no fragment), as core compares htu; None if not a URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except (ValueError, TypeError, AttributeError):
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    default = {"https": 443, "http": 80}.get(scheme)
    host = parts.hostname + (f":{port}" if port is not None and port != default else "")
    return f"{scheme}://{host}{parts.path or '/'}"


def has_dot_segment(url: str) -> bool:
    """A '.' or '..' path segment (also %2e, across %2f and backslashes): htu cannot bind it."""
    start = url.find("/", url.find("//") + 2)
    if start < 0:
        return False
    end = re.search(r"[?#]", url)
    path = re.sub(r"%2e", ".", url[start:end.start() if end else None], flags=re.I)
    return any(segment in (".", "..") for segment in re.split(r"/|\\|%2f|%5c", path, flags=re.I))


def check_request_claims(claims, audience, now, body, method, url, clock_skew, max_lifetime):
    """The claims of a request proof, in core's checkRequestClaims order."""
    aud, iat, exp, nbf, jti = (claims.get(name) for name in ("aud", "iat", "exp", "nbf", "jti"))
    if not (isinstance(aud, str) or (isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud))):
        raise Denied("malformed_proof")
    if not is_seconds(iat) or not is_seconds(exp) or (nbf is not None and not is_seconds(nbf)):
        raise Denied("malformed_proof")
    if not isinstance(jti, str) or any(not isinstance(claims.get(n, ""), str) for n in ("bh", "htm", "htu")):
        raise Denied("malformed_proof")
    if (aud != audience) if isinstance(aud, str) else (audience not in aud):
        raise Denied("wrong_audience")
    if iat > now + clock_skew or (nbf is not None and nbf > now + clock_skew):
        raise Denied("not_yet_valid")
    if exp <= now - clock_skew:
        raise Denied("expired")
    if exp - iat > max_lifetime:
        raise Denied("lifetime_too_long")
    if not MIN_JTI <= len(jti) <= MAX_JTI:
        raise Denied("malformed_proof")
    if "bh" in claims:
        # No bytes to hash is not the empty body: bh must cover what the handler receives.
        if body is None or claims["bh"] != b64url(hashlib.sha256(body).digest()):
            raise Denied("body_mismatch")
    if "htm" in claims and (method is None or claims["htm"].upper() != method.upper()):
        raise Denied("wrong_audience")
    if "htu" in claims:
        if url is not None and has_dot_segment(url):
            raise Denied("wrong_audience")
        expected = normalise_url(url) if url is not None else None
        if expected is None or normalise_url(claims["htu"]) != expected:
            raise Denied("wrong_audience")


def verify_pair(wit: str, wpt: str, identity: str, records, audience: str, now=None, body=None,
                method=None, url=None, clock_skew: int = CLOCK_SKEW, max_lifetime: int = MAX_LIFETIME,
                max_wit_lifetime: int = MAX_WIT_LIFETIME) -> dict:
    """Verifies a WIT + WPT pair against the caller's NHI1 records, in the order of core's
    verifyWorkloadIdentity and verifyWorkloadProof. body: the request body's bytes. Returns the WPT
    claims with the WIT's iss; raises Denied(reason)."""
    now = int(time.time()) if now is None else now
    max_wit_lifetime = min(max_wit_lifetime, MAX_WIT_LIFETIME)
    header, claims, signing_input, signature = decode(wit, need_kid_and_iss=True)
    if canonical(claims["iss"]) != canonical(identity):
        raise Denied("no_record")  # these records are another workload's: none is for iss
    key = parse_records(identity, records).get(header["kid"])
    if key is None:
        raise Denied("unknown_kid")
    check_signed_by(header, signing_input, signature, key, now, WIT_TYPES)
    iss, sub, iat, exp, jti = (claims.get(name) for name in ("iss", "sub", "iat", "exp", "jti"))
    if not is_seconds(iat) or not is_seconds(exp):
        raise Denied("malformed_proof")
    if not isinstance(jti, str) or not MIN_JTI <= len(jti) <= MAX_JTI:
        raise Denied("malformed_proof")
    if identity_name_of_workload_uri(sub) != iss:
        raise Denied("malformed_proof")
    if iat > now + clock_skew:
        raise Denied("not_yet_valid")
    if exp <= now - clock_skew:
        raise Denied("expired")
    if exp - iat > max_wit_lifetime:
        raise Denied("lifetime_too_long")
    jwk = claims.get("cnf", {}).get("jwk") if isinstance(claims.get("cnf"), dict) else None
    if (not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519"
            or not isinstance(jwk.get("x"), str) or "d" in jwk):
        raise Denied("malformed_proof")
    if "alg" in jwk and jwk["alg"] not in ("EdDSA", "Ed25519"):
        raise Denied("bad_alg")
    try:
        cnf_key = {"key_type": "ed25519", "public": load_public_key("ed25519", unb64url(jwk["x"])), "exp": None}
    except ValueError:
        raise Denied("malformed_proof")

    header, proof, signing_input, signature = decode(wpt, need_kid_and_iss=False)
    if "alg" in jwk and header["alg"] != jwk["alg"]:
        raise Denied("bad_alg")  # the WIT bound its key to one alg
    check_signed_by(header, signing_input, signature, cnf_key, now, WPT_TYPES)
    if proof.get("wth") != token_hash(wit):
        raise Denied("wrong_token")  # made for another WIT
    if exp <= now - clock_skew:
        raise Denied("expired")
    if "iss" in proof and proof["iss"] != iss:
        raise Denied("wrong_token")
    check_request_claims(proof, audience, now, body, method, url, clock_skew, max_lifetime)
    return {**proof, "iss": iss}


# --- command line ------------------------------------------------------------------------------

def read_jwk(path: str) -> dict:
    with open(path) as file:
        return json.load(file)


def read_bytes(path):
    if path is None:
        return None
    with open(path, "rb") as file:
        return file.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("keygen", help="print a new Ed25519 private JWK (the short-lived cnf key)")

    def wit_arguments(command):
        command.add_argument("--name", required=True, help="the workload's identity name (iss)")
        command.add_argument("--kid", required=True, help="kid of the signing key in the workload's record")
        command.add_argument("--key-type", required=True, choices=sorted(ALGS), help="k= of that record")
        command.add_argument("--cnf-key-file", required=True, help="JWK of the short-lived Ed25519 key (x is used)")
        command.add_argument("--iat", type=int)
        command.add_argument("--lifetime", type=int, default=DEFAULT_WIT_LIFETIME)
        command.add_argument("--jti")

    wit_arguments(commands.add_parser("wit-input", help="print the WIT signing input (sign it elsewhere)"))
    assembler = commands.add_parser("wit-assemble", help="print the WIT from its signing input and signature")
    assembler.add_argument("--signing-input", required=True)
    assembler.add_argument("--signature", required=True, help="base64 (as KMS and the AWS CLI give it)")
    assembler.add_argument("--der", action="store_true", help="the signature is DER ECDSA (KMS ECDSA_SHA_256)")
    witter = commands.add_parser("sign-wit", help="print a WIT signed by KMS or a local record key")
    wit_arguments(witter)
    source = witter.add_mutually_exclusive_group(required=True)
    source.add_argument("--kms-key-id", help="KMS key id, ARN or alias (needs boto3)")
    source.add_argument("--key-file", help="private JWK of the record key")
    prover = commands.add_parser("sign-wpt", help="print a WPT for one request")
    prover.add_argument("--wit", required=True)
    prover.add_argument("--key-file", required=True, help="private JWK of the key the WIT confirms")
    prover.add_argument("--aud", required=True, action="append", help="callee identity name (repeatable)")
    prover.add_argument("--iat", type=int)
    prover.add_argument("--lifetime", type=int, default=60)
    prover.add_argument("--jti")
    prover.add_argument("--method")
    prover.add_argument("--url")
    prover.add_argument("--body-file")
    checker = commands.add_parser("verify", help="verify a WIT + WPT pair and print the claims")
    checker.add_argument("--identity", required=True, help="the caller's identity name (WIT iss)")
    checker.add_argument("--record", required=True, action="append", help="an NHI1 TXT record (repeatable)")
    checker.add_argument("--audience", required=True, help="this callee's identity name")
    checker.add_argument("--now", type=int)
    checker.add_argument("--body-file")
    checker.add_argument("--method")
    checker.add_argument("--url")
    checker.add_argument("--clock-skew", type=int, default=CLOCK_SKEW)
    checker.add_argument("--max-lifetime", type=int, default=MAX_LIFETIME)
    checker.add_argument("--max-wit-lifetime", type=int, default=MAX_WIT_LIFETIME)
    checker.add_argument("wit")
    checker.add_argument("wpt")
    args = parser.parse_args()
    try:
        if args.command == "keygen":
            key = ed25519.Ed25519PrivateKey.generate()
            raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
            print(json.dumps({"kty": "OKP", "crv": "Ed25519", "d": b64url(raw), "x": ed25519_public_x(key)}))
        elif args.command in ("wit-input", "sign-wit"):
            cnf = ed25519.Ed25519PublicKey.from_public_bytes(unb64url(read_jwk(args.cnf_key_file)["x"]))
            common = dict(kid=args.kid, name=args.name, cnf_key=cnf, iat=args.iat, lifetime=args.lifetime, jti=args.jti)
            if args.command == "wit-input":
                print(wit_signing_input(key_type=args.key_type, **common))
            elif args.kms_key_id is not None:
                import boto3  # only here: the rest of the reference needs no AWS SDK
                print(sign_wit(boto3.client("kms"), args.kms_key_id, args.key_type, **common))
            else:
                print(sign_wit(LocalKeyKms(read_jwk(args.key_file)), "local", args.key_type, **common))
        elif args.command == "wit-assemble":
            signature = base64.b64decode(args.signature)
            print(assemble_wit(args.signing_input, ecdsa_der_to_jose(signature) if args.der else signature))
        elif args.command == "sign-wpt":
            print(sign_wpt(args.wit, ed25519_private_key(read_jwk(args.key_file)),
                           args.aud[0] if len(args.aud) == 1 else args.aud, iat=args.iat, lifetime=args.lifetime,
                           jti=args.jti, body=read_bytes(args.body_file), method=args.method, url=args.url))
        else:
            claims = verify_pair(args.wit, args.wpt, args.identity, args.record, args.audience, now=args.now,
                                 body=read_bytes(args.body_file), method=args.method, url=args.url,
                                 clock_skew=args.clock_skew, max_lifetime=args.max_lifetime,
                                 max_wit_lifetime=args.max_wit_lifetime)
            print(json.dumps(claims, ensure_ascii=False))
    except ValueError as error:
        sys.exit(f"{'denied' if args.command == 'verify' else 'cannot sign'}: {error}")


if __name__ == "__main__":
    main()
