"""Identity and trust: mutual TLS, certificates, the registry, the development PKI."""
