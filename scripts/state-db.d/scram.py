"""Print the SCRAM-SHA-256 verifier of the password in a file (argv[1]), as PostgreSQL stores it.

scripts/state-db sets role passwords with the verifier (`ALTER ROLE ... PASSWORD 'SCRAM-SHA-256$...'`), so the
clear password never travels in an SQL statement and cannot land in the server log. Standard library only.
The passwords state-db generates are ASCII letters and digits, which SASLprep leaves unchanged.
"""

import base64
import hashlib
import hmac
import os
import sys

ITERATIONS = 4096  # PostgreSQL's default scram_iterations


def verifier(password: bytes, salt: bytes, iterations: int = ITERATIONS) -> str:
    salted = hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as fh:
        secret = fh.read().strip()
    if not secret:
        sys.exit("scram.py: empty password file")
    print(verifier(secret, os.urandom(16)))
