#!/usr/bin/env python3
"""Cross-checks every crypto vector file here against an independent implementation
(Python's hashlib/hmac and pyca/cryptography), so a transcription error in a vector file
is caught before the C++ tests rely on it. Usage: python3 crosscheck.py  (exit 0 = all agree)"""
import hashlib
import hmac
import os
import sys

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HERE = os.path.dirname(os.path.abspath(__file__))


def parse(name):
    """Same format as tests/crypto/vector_file.cc: '#' comments; '[Name = value]' or '[Name]'
    section lines whose attributes apply to the records after them (a new '[..]' line after a
    record starts a new section); blank-line separated records of 'Key = value' lines; a bare
    word line is a flag."""
    records, section, cur, fresh = [], {}, {}, True
    for raw in open(os.path.join(HERE, name), encoding="ascii"):
        line = raw.strip()
        if line.startswith("#"):
            continue
        if not line:
            if cur:
                records.append(cur)
                cur = {}
            continue
        if line.startswith("["):
            if cur:
                records.append(cur)
                cur = {}
            if not fresh:
                section, fresh = {}, True
            inner = line.strip("[]")
            k, _, v = inner.partition("=")
            section[k.strip()] = v.strip()
            continue
        fresh = False
        if not cur:
            cur.update(section)
        if "=" in line:
            k, v = line.split("=", 1)
            cur[k.strip()] = v.strip()
        else:
            cur[line] = ""
    if cur:
        records.append(cur)
    return records


def h(x):
    return bytes.fromhex(x)


failures = 0


def check(ok, what):
    global failures
    if not ok:
        failures += 1
        print("MISMATCH:", what)


def sha_files():
    for name, fn in (("sha256_shortmsg.rsp", hashlib.sha256), ("sha384_shortmsg.rsp", hashlib.sha384),
                     ("sha512_shortmsg.rsp", hashlib.sha512)):
        recs = parse(name)
        for r in recs:
            msg = h(r["Msg"])[: int(r["Len"]) // 8]
            check(fn(msg).hexdigest() == r["MD"], f"{name} Len={r['Len']}")
        print(f"{name}: {len(recs)} records")


def hmac_file():
    recs = parse("hmac_rfc4231.txt")
    algs = {"SHA-256": hashlib.sha256, "SHA-384": hashlib.sha384, "SHA-512": hashlib.sha512}
    n = 0
    for r in recs:
        for alg, fn in algs.items():
            mac = hmac.new(h(r["Key"]), h(r["Data"]), fn).hexdigest()
            want = r["HMAC-" + alg]
            check(mac[: len(want)] == want, f"hmac {r['Case']} {alg}")
            n += 1
    print(f"hmac_rfc4231.txt: {len(recs)} cases, {n} MACs")


def hkdf_file():
    recs = parse("hkdf_rfc5869.txt")
    for r in recs:
        salt = h(r["Salt"])
        prk = hmac.new(salt if salt else b"\0" * 32, h(r["IKM"]), hashlib.sha256).hexdigest()
        check(prk == r["PRK"], f"hkdf PRK {r['Case']}")
        okm = HKDF(hashes.SHA256(), int(r["L"]), salt or None, h(r["Info"])).derive(h(r["IKM"]))
        check(okm.hex() == r["OKM"], f"hkdf OKM {r['Case']}")
    print(f"hkdf_rfc5869.txt: {len(recs)} cases")


def gcm_file():
    recs = parse("aes256gcm_nist.rsp")
    fails = 0
    for r in recs:
        aead = AESGCM(h(r["Key"]))
        ct_tag = h(r["CT"]) + h(r["Tag"])
        if "FAIL" in r:
            fails += 1
            try:
                aead.decrypt(h(r["IV"]), ct_tag, h(r["AAD"]))
                check(False, f"gcm FAIL record decrypted: {r['Key']}")
            except InvalidTag:
                pass
        else:
            check(aead.encrypt(h(r["IV"]), h(r["PT"]), h(r["AAD"])) == ct_tag, f"gcm {r['Key']}")
    print(f"aes256gcm_nist.rsp: {len(recs)} records, {fails} FAIL")


def ecdsa_sigver(name, curve, alg, size):
    recs = parse(name)
    fails = 0
    for r in recs:
        want = r["Result"].startswith("P")
        fails += not want
        try:
            key = ec.EllipticCurvePublicNumbers(int(r["Qx"], 16), int(r["Qy"], 16), curve).public_key()
            sig = encode_dss_signature(int(r["R"], 16), int(r["S"], 16))
            key.verify(sig, h(r["Msg"]), ec.ECDSA(alg))
            got = True
        except (InvalidSignature, ValueError):
            got = False
        check(got == want, f"{name} Msg={r['Msg'][:16]}")
        check(len(r["Qx"]) == 2 * size and len(r["R"]) == 2 * size, f"{name} field sizes")
    print(f"{name}: {len(recs)} records, {fails} F")


def wycheproof_ecdsa():
    name = "wycheproof_ecdsa_p256_sha256.txt"
    recs = parse(name)
    invalid = 0
    for r in recs:
        from cryptography.hazmat.primitives.serialization import load_der_public_key
        key = load_der_public_key(h(r["PublicKeyDer"]))
        try:
            key.verify(h(r["Sig"]), h(r["Msg"]), ec.ECDSA(hashes.SHA256()))
            got = "valid"
        except (InvalidSignature, ValueError):
            got = "invalid"
        invalid += r["Result"] == "invalid"
        check(got == r["Result"], f"{name} tcId={r['TcId']}")
    print(f"{name}: {len(recs)} records, {invalid} invalid")


if __name__ == "__main__":
    sha_files()
    hmac_file()
    hkdf_file()
    gcm_file()
    ecdsa_sigver("ecdsa_p256_sha256_sigver.rsp", ec.SECP256R1(), hashes.SHA256(), 32)
    ecdsa_sigver("ecdsa_p384_sha384_sigver.rsp", ec.SECP384R1(), hashes.SHA384(), 48)
    wycheproof_ecdsa()
    print("FAILED" if failures else "all vectors agree with hashlib/hmac/pyca-cryptography")
    sys.exit(1 if failures else 0)
