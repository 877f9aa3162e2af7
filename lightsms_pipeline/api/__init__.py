"""LightSMS over HTTP: the client (transport, signing, clock, retries), and what its answers mean."""
