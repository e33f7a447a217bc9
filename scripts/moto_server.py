"""moto_server with KMS Sign/Verify honouring MessageType=DIGEST.

moto 5.x reads MessageType but ignores it: it hashes a DIGEST message again,
so a signature over a digest made the way AWS KMS makes it cannot be produced.
This wrapper makes moto treat a DIGEST message as the pre-computed hash, as
KMS does (cryptography's Prehashed), and otherwise runs moto_server unchanged.
Remove it once moto implements DIGEST.
"""
import sys
import threading

from cryptography.hazmat.primitives.asymmetric import ec, utils as asym_utils
from moto.kms import responses, utils
from moto.server import main

_digest = threading.local()


def _flag_digest(original):
    def handler(self):
        _digest.on = self._get_param("MessageType") == "DIGEST"
        try:
            return original(self)
        finally:
            _digest.on = False
    return handler


responses.KmsResponse.sign = _flag_digest(responses.KmsResponse.sign)
responses.KmsResponse.verify = _flag_digest(responses.KmsResponse.verify)

_hashes = {"ECDSA_SHA_256": "SHA256", "ECDSA_SHA_384": "SHA384", "ECDSA_SHA_512": "SHA512"}
_sign, _verify = utils.ECDSAPrivateKey.sign, utils.ECDSAPrivateKey.verify


def _algorithm(signing_algorithm):
    from cryptography.hazmat.primitives import hashes
    return ec.ECDSA(asym_utils.Prehashed(getattr(hashes, _hashes[signing_algorithm])()))


def sign(self, message, signing_algorithm):
    if not getattr(_digest, "on", False):
        return _sign(self, message, signing_algorithm)
    utils.validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
    return self.private_key.sign(message, _algorithm(signing_algorithm))


def verify(self, message, signature, signing_algorithm):
    if not getattr(_digest, "on", False):
        return _verify(self, message, signature, signing_algorithm)
    utils.validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
    try:
        self.private_key.public_key().verify(signature, message, _algorithm(signing_algorithm))
        return True
    except Exception:  # InvalidSignature, or a digest of the wrong size
        return False


utils.ECDSAPrivateKey.sign = sign
utils.ECDSAPrivateKey.verify = verify

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
