#!/usr/bin/env python3
"""Generate the repo's throwaway TEST-ONLY keys and certificates in tests/fixtures/keys/.

Never use these keys for anything but tests: the private keys are public in this repository.
Run once by hand (needs the `cryptography` package); the outputs are committed, CI never runs it.
"""
import datetime, os, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa, ec

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "keys")
os.makedirs(OUT, exist_ok=True)
NB = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
NA = datetime.datetime(2045, 1, 1, tzinfo=datetime.timezone.utc)

def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)

def pkcs8(k, enc=serialization.NoEncryption()):
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)

def spki(k):
    return k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

def cert(k, serial, cn, nb=NB, na=NA):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TEST ONLY")])
    c = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
         .serial_number(serial).not_valid_before(nb).not_valid_after(na).sign(k, hashes.SHA256()))
    return c.public_bytes(serialization.Encoding.PEM)

merchant = rsa.generate_private_key(65537, 2048)
write("merchant_key.pem", pkcs8(merchant))
write("merchant_key_pkcs1.pem", merchant.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
write("merchant_key.der", merchant.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
write("merchant_key_pkcs1.der", merchant.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
write("merchant_public.pem", spki(merchant))
write("merchant_cert.pem", cert(merchant, 0x3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B, "1900000001 TEST merchant"))

platform = rsa.generate_private_key(65537, 2048)
write("platform_key.pem", pkcs8(platform))
write("platform_cert.pem", cert(platform, 0x5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A, "TEST platform"))
write("platform_public.pem", spki(platform))

platform2 = rsa.generate_private_key(65537, 2048)
write("platform2_key.pem", pkcs8(platform2))
write("platform2_cert.pem", cert(platform2, 0x0099AABBCCDDEEFF00112233445566778899AABB, "TEST platform rotated",
                                 nb=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)))

expired = rsa.generate_private_key(65537, 2048)
write("expired_key.pem", pkcs8(expired))
write("expired_cert.pem", cert(expired, 0x11223344, "TEST expired",
                               nb=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
                               na=datetime.datetime(2021, 1, 1, tzinfo=datetime.timezone.utc)))

pubmode = rsa.generate_private_key(65537, 2048)
write("platform_pubkey_mode_key.pem", pkcs8(pubmode))
write("platform_pubkey_mode.pub.pem", spki(pubmode))

# Bad inputs.
small = rsa.generate_private_key(65537, 1024)
write("bad_rsa1024_key.pem", pkcs8(small))
write("bad_rsa1024_public.pem", spki(small))
write("bad_rsa1024_cert.pem", cert(small, 0x77, "TEST small"))
eck = ec.generate_private_key(ec.SECP256R1())
write("bad_ec_pkcs8.pem", pkcs8(eck))
write("bad_ec_sec1.pem", eck.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
write("bad_ec_public.pem", spki(eck))
write("bad_ec_cert.pem", cert(eck, 0x78, "TEST ec"))
write("bad_encrypted_pkcs8.pem", pkcs8(merchant, serialization.BestAvailableEncryption(b"test-only")))
write("bad_encrypted_pkcs1.pem", merchant.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.BestAvailableEncryption(b"test-only")))
write("bad_two_keys.pem", pkcs8(merchant) + pkcs8(platform))
write("bad_empty.pem", b"\n  \n")
write("bad_not_pem.txt", b"this is not a key\n")
with open(os.path.join(OUT, "merchant_key.pem"), "rb") as f:
    good = f.read().decode()
lines = good.splitlines()
write("bad_truncated.pem", ("\n".join(lines[:10]) + "\n").encode())
broken = lines[:]
broken[3] = "!!!!" + broken[3][4:]
write("bad_base64.pem", ("\n".join(broken) + "\n").encode())
print("written to", os.path.abspath(OUT))
