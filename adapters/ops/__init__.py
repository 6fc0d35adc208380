"""Operations: metrics, health and readiness over HTTP, the credential expiry inventory."""
