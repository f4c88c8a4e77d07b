#ifndef SCRYPTEX_COPENSSL_SHIM_H
#define SCRYPTEX_COPENSSL_SHIM_H

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* OpenSSL spells several calls and constants as macros, which Swift cannot import. Each one
   used by Scryptex is turned into a static inline function here, once. */

static inline long scryptex_ssl_ctx_set_min_proto_version(SSL_CTX *context, int version) {
    return SSL_CTX_set_min_proto_version(context, version);
}

static inline long scryptex_ssl_ctx_set_max_proto_version(SSL_CTX *context, int version) {
    return SSL_CTX_set_max_proto_version(context, version);
}

static inline int scryptex_openssl_version_number(void) {
    return (int)OPENSSL_VERSION_NUMBER;
}

/* The SNI callback and its argument. */
static inline void scryptex_ssl_ctx_set_servername_callback(
    SSL_CTX *context, int (*callback)(SSL *, int *, void *), void *argument) {
    SSL_CTX_set_tlsext_servername_callback(context, callback);
    SSL_CTX_set_tlsext_servername_arg(context, argument);
}

static inline long scryptex_ssl_ctx_set_mode(SSL_CTX *context, long mode) {
    return SSL_CTX_set_mode(context, mode);
}

static inline long scryptex_ssl_ctx_set_session_cache_mode(SSL_CTX *context, long mode) {
    return SSL_CTX_set_session_cache_mode(context, mode);
}

/* Options a server wants: no renegotiation, no compression, its own cipher order. */
static inline uint64_t scryptex_ssl_server_options(void) {
    return SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE
        | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
}

static inline long scryptex_ssl_server_modes(void) {
    return SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
}

/* Read whole TLS records (and more) per read(2) instead of header and body separately. */
static inline void scryptex_ssl_ctx_enable_read_ahead(SSL_CTX *context) {
    SSL_CTX_set_read_ahead(context, 1);
}

static inline int scryptex_ssl_ctx_set_tmp_ecdh_auto(SSL_CTX *context) {
    return (int)SSL_CTX_set1_groups_list(context, "X25519:P-256:P-384");
}

static inline int scryptex_ssl_ctx_add_extra_chain_cert(SSL_CTX *context, X509 *certificate) {
    return (int)SSL_CTX_add_extra_chain_cert(context, certificate);
}

static inline BIO *scryptex_bio_new_memory(void) {
    return BIO_new(BIO_s_mem());
}

static inline long scryptex_bio_memory_contents(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

/* Session-ticket keys: set the HMAC-SHA256 key on the MAC context OpenSSL hands the ticket
   callback (its parameters are an OSSL_PARAM array, simplest to build in C). */
#include <openssl/core_names.h>
static inline int scryptex_ticket_mac_init(EVP_MAC_CTX *mac, unsigned char *key, size_t length) {
    OSSL_PARAM parameters[3];
    parameters[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, length);
    parameters[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    parameters[2] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(mac, parameters);
}

typedef int (*scryptex_ticket_callback)(SSL *, unsigned char *, unsigned char *, EVP_CIPHER_CTX *, EVP_MAC_CTX *, int);

static inline long scryptex_ssl_ctx_set_ticket_callback(SSL_CTX *context, scryptex_ticket_callback callback) {
    return SSL_CTX_set_tlsext_ticket_key_evp_cb(context, callback);
}

/* The client side: the name to send in SNI. */
static inline long scryptex_ssl_set_server_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

/* A certificate signing request's extensions (one, the subject alternative names) go in as a
   stack, a macro-built type. */
static inline int scryptex_x509_req_add_extension(X509_REQ *request, X509_EXTENSION *extension) {
    STACK_OF(X509_EXTENSION) *extensions = sk_X509_EXTENSION_new_null();
    if (extensions == NULL) return 0;
    if (sk_X509_EXTENSION_push(extensions, extension) <= 0) {
        sk_X509_EXTENSION_free(extensions);
        return 0;
    }
    int result = X509_REQ_add_extensions(request, extensions);
    sk_X509_EXTENSION_free(extensions);
    return result;
}

/* A DER ECDSA signature as the fixed-size r || s a JWS carries (RFC 7518 section 3.4). */
#include <openssl/ecdsa.h>
static inline int scryptex_ecdsa_signature_to_raw(
    const unsigned char *der, long length, unsigned char *raw, int half) {
    const unsigned char *cursor = der;
    ECDSA_SIG *signature = d2i_ECDSA_SIG(NULL, &cursor, length);
    if (signature == NULL) return 0;
    const BIGNUM *r = NULL;
    const BIGNUM *s = NULL;
    ECDSA_SIG_get0(signature, &r, &s);
    int ok = BN_bn2binpad(r, raw, half) == half && BN_bn2binpad(s, raw + half, half) == half;
    ECDSA_SIG_free(signature);
    return ok;
}

/* r and s (`half` bytes each) as a DER ECDSA-Sig-Value; returns its length, or 0. */
static inline int scryptex_ecdsa_signature_from_raw(
    const unsigned char *raw, int half, unsigned char *der, int capacity) {
    ECDSA_SIG *signature = ECDSA_SIG_new();
    if (signature == NULL) return 0;
    BIGNUM *r = BN_bin2bn(raw, half, NULL);
    BIGNUM *s = BN_bin2bn(raw + half, half, NULL);
    if (r == NULL || s == NULL || ECDSA_SIG_set0(signature, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(signature);
        return 0;
    }
    int length = i2d_ECDSA_SIG(signature, NULL);
    if (length <= 0 || length > capacity) {
        ECDSA_SIG_free(signature);
        return 0;
    }
    unsigned char *cursor = der;
    length = i2d_ECDSA_SIG(signature, &cursor);
    ECDSA_SIG_free(signature);
    return length;
}

#endif