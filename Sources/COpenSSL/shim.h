#ifndef SCRYPTEX_COPENSSL_SHIM_H
#define SCRYPTEX_COPENSSL_SHIM_H

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* OpenSSL spells several calls as macros, which Swift cannot import. Each one used by Scryptex
   is turned into a static inline function here, once. */

static inline long scryptex_ssl_ctx_set_min_proto_version(SSL_CTX *context, int version) {
    return SSL_CTX_set_min_proto_version(context, version);
}

static inline long scryptex_ssl_ctx_set_max_proto_version(SSL_CTX *context, int version) {
    return SSL_CTX_set_max_proto_version(context, version);
}

static inline int scryptex_openssl_version_number(void) {
    return (int)OPENSSL_VERSION_NUMBER;
}

#endif
