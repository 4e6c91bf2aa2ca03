"""sslconform: holds TLS libraries to the promises of OpenSSL's SSL_new(3) page."""
